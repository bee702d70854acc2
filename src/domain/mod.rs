//! Plain Rust domain: what the service's words mean and which inputs are valid.
//! No HTTP, no SQL here.

pub mod access;
pub mod audit;
pub mod award;
pub mod impact;
pub mod issuer;
pub mod lang;
pub mod merkle;
pub mod metro_line;
pub mod nanomodule;
pub mod oauth;
pub mod pathway;
pub mod peer_group;
pub mod skill;
pub mod stacking;
pub mod time;
pub mod validate;
