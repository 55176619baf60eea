//! Raw DEFLATE (RFC 1951) for `zip: "DEF"`, with an output ceiling.

use miniz_oxide::inflate::{decompress_to_vec_with_limit, TINFLStatus};

use zeroize::Zeroizing;

use super::UnsealError;

/// Inflates raw DEFLATE data; refuses output over `limit` bytes without
/// producing more than `limit` bytes first.
pub(crate) fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, UnsealError> {
    decompress_to_vec_with_limit(data, limit).map_err(|e| match e.status {
        TINFLStatus::HasMoreOutput => UnsealError::TooLarge { limit },
        _ => UnsealError::Inflate,
    })
}

/// Input fed to the compressor between two checks of the clock.
const DEFLATE_STEP: usize = 32 * 1024;

/// Compresses with raw DEFLATE at the default level, giving the event loop
/// a turn every few milliseconds. The
/// output is sized for FHIR JSON's usual ratio and grows by whole
/// zeroized copies, so no compressed plaintext is left behind in freed memory.
/// `None` only if the compressor fails (a bug in it), never a partial output.
pub(crate) async fn deflate_paced<S: crate::source::Scheduler>(data: &[u8], sched: &S) -> Option<Zeroizing<Vec<u8>>> {
    use miniz_oxide::deflate::core::{compress, create_comp_flags_from_zip_params, CompressorOxide, TDEFLFlush, TDEFLStatus};
    let mut compressor = CompressorOxide::new(create_comp_flags_from_zip_params(6, 0, 0));
    let mut output = Zeroizing::new(vec![0u8; data.len() / 4 + 1024]);
    let mut written = 0;
    let mut rest = data;
    let pacer = crate::source::Pacer::new(sched);
    loop {
        let last = rest.len() <= DEFLATE_STEP;
        let (input, flush) = if last { (rest, TDEFLFlush::Finish) } else { (rest.get(..DEFLATE_STEP).unwrap_or(rest), TDEFLFlush::None) };
        let (status, read, wrote) = compress(&mut compressor, input, output.get_mut(written..).unwrap_or_default(), flush);
        written += wrote;
        rest = rest.get(read..).unwrap_or_default();
        match status {
            TDEFLStatus::Done => break,
            TDEFLStatus::Okay => {
                if output.len().saturating_sub(written) < 1024 {
                    let mut bigger = Zeroizing::new(vec![0u8; output.len() * 2]);
                    bigger.get_mut(..written).unwrap_or_default().copy_from_slice(output.get(..written).unwrap_or_default());
                    output = bigger;
                }
            }
            _ => return None,
        }
        pacer.tick().await;
    }
    output.truncate(written);
    Some(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input over many steps, incompressible stretches included (the output
    /// grows past its first guess): it inflates back to the same bytes.
    #[test]
    fn deflate_in_steps_inflates_back() {
        let mut data = Vec::new();
        let mut x: u32 = 7;
        for i in 0..400_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            data.push(if i % 3 == 0 { (x >> 16) as u8 } else { b"{\"resourceType\":\"Observation\"}"[(i % 29) as usize] });
        }
        let deflated = crate::source::run_now(deflate_paced(&data, &crate::source::Immediate)).unwrap();
        assert!(deflated.len() < data.len());
        assert_eq!(inflate(&deflated, data.len()).unwrap(), data);
        let empty = crate::source::run_now(deflate_paced(&[], &crate::source::Immediate)).unwrap();
        assert_eq!(inflate(&empty, 0).unwrap(), Vec::<u8>::new());
    }
}
