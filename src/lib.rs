//! metrobadge: issues, stacks and verifies Open Badges 3.0 credentials for work-based learning.

#![forbid(unsafe_code)]

pub mod api_token;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod credential;
pub mod domain;
pub mod fetch;
pub mod http;
pub mod locale;
pub mod mailer;
pub mod master_key;
pub mod service;
pub mod store;
mod telemetry;

pub use app::App;
