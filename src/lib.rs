#![doc = include_str!("../README.md")]
// No unsafe code, except the WebAssembly build's global allocator (src/wasm/alloc.rs).
#![cfg_attr(not(target_arch = "wasm32"), forbid(unsafe_code))]
#![cfg_attr(target_arch = "wasm32", deny(unsafe_code))]
// No input may make the SDK panic: no indexing or slicing that can fail
// (tests may index: a panic there is a failed test).
#![cfg_attr(not(test), deny(clippy::indexing_slicing, clippy::string_slice))]

mod b64;
pub mod consent;
pub mod error;
pub mod fhir;
pub mod fhir_api;
mod numtext;
pub mod pipeline;
// Drawn in WebAssembly (a shared link's QR code); natively only its tests use it.
#[cfg_attr(not(any(test, target_arch = "wasm32")), allow(dead_code))]
mod qr;
pub mod render;
pub mod share;
pub mod shl;
pub mod source;
pub mod unseal;
mod util;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::Error;
#[doc(hidden)]
pub use util::{capitalize, lowercase};
