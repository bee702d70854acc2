//! Black-box tests of the HTTP API: one binary, every storage-touching test on SQLite and on
//! PostgreSQL (see `harness`).

mod harness;

mod access;
mod audit;
mod awards;
mod bad_input;
mod browser;
mod cli;
mod clr;
mod cluster;
mod console;
mod custody;
mod foundation;
mod fuzz;
mod impact;
mod interop;
mod mail;
mod metro;
mod microcredential;
mod ob_api;
mod openapi;
mod pages;
mod schemas;
mod stacking;
mod status;
mod trust;
mod vc_api;
mod verify;
mod wallet;
