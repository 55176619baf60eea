#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod consent;
pub mod error;
pub mod fhir;
pub mod pipeline;
pub mod render;
pub mod shl;
pub mod source;
pub mod unseal;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::Error;
