//! Raw DEFLATE (RFC 1951) for `zip: "DEF"`, with an output ceiling.

use miniz_oxide::inflate::{decompress_to_vec_with_limit, TINFLStatus};

use super::UnsealError;

/// Inflates raw DEFLATE data; refuses output over `limit` bytes without
/// producing more than `limit` bytes first.
pub(crate) fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, UnsealError> {
    decompress_to_vec_with_limit(data, limit).map_err(|e| match e.status {
        TINFLStatus::HasMoreOutput => UnsealError::TooLarge { limit },
        _ => UnsealError::Inflate,
    })
}

/// Compresses with raw DEFLATE at the default level.
pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(data, 6)
}
