//! The standards core: Open Badges 3.0 documents, keys and (later) proofs. No HTTP, no SQL.

pub mod badge;
pub mod bake;
pub mod canon;
pub mod certificate;
pub mod clr;
pub mod contexts;
pub mod data_integrity;
pub mod did;
pub mod endorsement;
pub mod holder;
pub mod image;
pub mod issue;
pub mod jwt;
pub mod multikey;
pub mod ob3;
pub mod schema;
pub mod shape;
pub mod share;
pub mod status_list;
pub mod verify;
