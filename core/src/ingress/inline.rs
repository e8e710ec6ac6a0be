//! Checks on inline (base64) data, shared by every API shape: images must have
//! an image media type, and images and documents data that is base64, so
//! garbage is refused here with the field named rather than by the upstream,
//! or not at all by the echo.

use crate::{Error, Result};

/// `media_type` must be `image/...`; `data` as `check_data` wants it.
pub fn check_base64(media_type: &str, media_path: &str, data: &str, data_path: &str) -> Result<()> {
    let subtype = media_type.strip_prefix("image/").unwrap_or_default();
    if subtype.is_empty() || !subtype.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid_field(
            media_path,
            format!("expected an image media type such as image/png, got {media_type:?}"),
        ));
    }
    check_data(data, data_path, "the image")
}

/// `data` must be non-empty base64 (standard or URL-safe alphabet, padding
/// optional, line breaks allowed); `what` names it in the error.
pub fn check_data(data: &str, path: &str, what: &str) -> Result<()> {
    let body = data.trim_end_matches(|c: char| c == '=' || c.is_ascii_whitespace());
    let base64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_');
    let padding = data.len() - body.len();
    if body.is_empty() || !body.bytes().all(|b| base64(b) || b.is_ascii_whitespace()) || padding > 8
    {
        return Err(Error::invalid_field(
            path,
            format!("expected {what} as non-empty base64 data"),
        ));
    }
    Ok(())
}

/// A data URL's media type and data: `data:<media type>[;param]*;base64,<data>`.
pub fn data_url(url: &str) -> Option<(&str, &str)> {
    let (meta, data) = url.strip_prefix("data:")?.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?.split(';').next()?;
    (!media_type.is_empty()).then_some((media_type, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_must_be_base64_of_an_image_type() {
        assert!(check_base64("image/png", "m", "iVBORw0KGgo=", "d").is_ok());
        assert!(check_base64("image/webp", "m", "aGVs\nbG8", "d").is_ok());
        assert!(check_base64("image/jpeg", "m", "a-b_", "d").is_ok());
        for (media, data, field) in [
            ("text/html", "aGVsbG8=", "m"),
            ("image/", "aGVsbG8=", "m"),
            ("image/p ng", "aGVsbG8=", "m"),
            ("image/png", "", "d"),
            ("image/png", "====", "d"),
            ("image/png", "!!! not base64 !!!", "d"),
            ("image/png", "aGVs=bG8=", "d"),
        ] {
            let e = check_base64(media, "m", data, "d").unwrap_err();
            assert_eq!(e.param(), Some(field), "{media} {data}");
        }
        let e = check_data("", "d", "the document").unwrap_err();
        assert_eq!(
            e.message(),
            "d: expected the document as non-empty base64 data"
        );
    }

    #[test]
    fn data_urls() {
        assert_eq!(
            data_url("data:application/pdf;base64,JVBE"),
            Some(("application/pdf", "JVBE"))
        );
        assert_eq!(
            data_url("data:image/png;name=a.png;base64,iVBO"),
            Some(("image/png", "iVBO"))
        );
        for bad in [
            "https://x/a.pdf",
            "data:application/pdf,JVBE",
            "data:;base64,JVBE",
            "data:x",
        ] {
            assert_eq!(data_url(bad), None, "{bad}");
        }
    }
}
