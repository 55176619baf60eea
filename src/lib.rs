#![doc = include_str!("../README.md")]
// No unsafe code, except the WebAssembly build's global allocator (src/wasm/alloc.rs).
#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]
#![cfg_attr(target_arch = "wasm32", deny(unsafe_code))]

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
