//! GHASH, from the GCM core crate (`crates/gcm`, compiled for speed): for
//! the portable AES-GCM and for chaining the platform's pieces (`pieced`).

pub use patient_portal_gcm::ghash::{mul, Ghash};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unseal::cipher::tests::bytes;
    use ghash::universal_hash::UniversalHash;
    use patient_portal_gcm::ghash::Block;

    fn reference(h: &Block, slices: &[&[u8]]) -> Block {
        let mut ghash = ghash::GHash::new(&(*h).into());
        for slice in slices {
            ghash.update_padded(slice);
        }
        ghash.finalize().into()
    }

    #[test]
    fn matches_rustcrypto_ghash_on_every_length_and_split() {
        for seed in 0..200u64 {
            let h: Block = bytes(seed, 16).try_into().unwrap();
            let len = (seed as usize * 37) % 700;
            let data = bytes(seed + 1000, len);
            let mut ours = Ghash::new(&h);
            ours.update_padded(&data);
            assert_eq!(ours.finalize(), reference(&h, &[&data]), "seed {seed}, {len} bytes");
            // In slices of whole blocks (and a last partial one), as the pieces come.
            let cut = (len / 3) / 16 * 16;
            let mut ours = Ghash::new(&h);
            ours.update_padded(&data[..cut]);
            ours.update_padded(&data[cut..]);
            assert_eq!(ours.finalize(), reference(&h, &[&data[..cut], &data[cut..]]), "seed {seed}, cut at {cut}");
        }
    }

    #[test]
    fn edge_keys_and_blocks() {
        let ones = [0xFF; 16];
        let zero = [0; 16];
        let mut high = [0; 16];
        high[0] = 0x80;
        let mut low = [0; 16];
        low[15] = 0x01;
        for h in [ones, zero, high, low] {
            for data in [ones, zero, high, low] {
                let many: Vec<u8> = data.iter().copied().cycle().take(16 * 9).collect();
                let mut ours = Ghash::new(&h);
                ours.update_padded(&many);
                assert_eq!(ours.finalize(), reference(&h, &[&many]));
                let product = mul(&data, &h);
                assert_eq!(product, reference(&h, &[&data]), "one block is one multiplication");
            }
        }
    }

    #[test]
    fn known_answer_from_the_gcm_specification() {
        // The GCM specification (McGrew and Viega), test case 2: H = E(0¹²⁸, 0¹²⁸)
        // under the all-zero AES-128 key, one zero block of ciphertext, then the lengths.
        let h: Block = hex("66e94bd4ef8a2c3b884cfa59ca342b2e");
        let mut ghash = Ghash::new(&h);
        ghash.update_padded(&hex::<16>("0388dace60b6a392f328c2b971b2fe78"));
        ghash.update_padded(&hex::<16>("00000000000000000000000000000080"));
        assert_eq!(ghash.finalize(), hex("f38cbb1ad69223dcc3457ae5b6b0f885"));
    }

    fn hex<const N: usize>(text: &str) -> [u8; N] {
        let mut out = [0; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }
}
