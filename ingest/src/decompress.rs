//! Bounded decompression of request bodies: snappy block format and gzip.

use std::io::Read;

use crate::error::DecodeError;

/// Decompresses a snappy block-format body (remote-write), refusing it before allocating when
/// the length announced in its header exceeds `limit`.
pub(crate) fn snappy(body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let len = snap::raw::decompress_len(body)
        .map_err(|e| DecodeError::Decompression(format!("snappy: {e}")))?;
    if len > limit {
        return Err(DecodeError::BodyTooLarge { limit });
    }
    let mut out = vec![0; len];
    let written = snap::raw::Decoder::new()
        .decompress(body, &mut out)
        .map_err(|e| DecodeError::Decompression(format!("snappy: {e}")))?;
    // The decoder checks the header against the data, but be explicit about it.
    if written != len {
        return Err(DecodeError::Decompression(format!(
            "snappy: header announces {len} bytes, data holds {written}"
        )));
    }
    Ok(out)
}

/// Decompresses a gzip body (one or more members), reading at most `limit + 1` bytes of output
/// so that a small body expanding to gigabytes is refused after `limit` bytes.
pub(crate) fn gzip(body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    flate2::read::MultiGzDecoder::new(body)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::Decompression(format!("gzip: {e}")))?;
    if out.len() > limit {
        return Err(DecodeError::BodyTooLarge { limit });
    }
    Ok(out)
}

/// Normalises a `Content-Encoding` or `Content-Type` header for comparison: the part before any
/// `;` parameters, trimmed and lower-cased.
pub(crate) fn media(header: Option<&str>) -> Option<String> {
    header
        .map(|h| {
            h.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn snappy_round_trip_and_limit() {
        let data = b"hello hello hello hello".repeat(10);
        let compressed = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(snappy(&compressed, 1 << 20).unwrap(), data);
        assert_eq!(
            snappy(&compressed, 10),
            Err(DecodeError::BodyTooLarge { limit: 10 })
        );
    }

    #[test]
    fn snappy_header_lying_about_length_is_refused_before_allocation() {
        // Header varint announcing 4 GiB - 1, followed by nothing.
        let body = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(matches!(
            snappy(&body, 32 << 20),
            Err(DecodeError::BodyTooLarge { .. })
        ));
        // Header announcing 100 bytes, data holding 3 literal bytes.
        let body = [100, 0b0000_1000, b'a', b'b', b'c'];
        assert!(matches!(
            snappy(&body, 1 << 20),
            Err(DecodeError::Decompression(_))
        ));
        assert!(matches!(
            snappy(&[], 1 << 20),
            Err(DecodeError::Decompression(_))
        ));
    }

    #[test]
    fn gzip_round_trip_concatenated_members_and_bomb() {
        let mut two = gz(b"abc");
        two.extend(gz(b"def"));
        assert_eq!(gzip(&two, 100).unwrap(), b"abcdef");

        // 64 MiB of zeros compress to about 64 KiB.
        let bomb = gz(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 1 << 20);
        assert_eq!(
            gzip(&bomb, 1 << 20),
            Err(DecodeError::BodyTooLarge { limit: 1 << 20 })
        );
        assert!(matches!(
            gzip(b"not gzip", 100),
            Err(DecodeError::Decompression(_))
        ));
        let truncated = &gz(b"some data to cut short")[..15];
        assert!(gzip(truncated, 100).is_err());
    }

    #[test]
    fn media_types_are_normalised() {
        assert_eq!(media(None), None);
        assert_eq!(media(Some("  ")), None);
        assert_eq!(
            media(Some("Application/JSON; charset=utf-8")).as_deref(),
            Some("application/json")
        );
    }
}
