#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod fhir;
pub mod unseal;
