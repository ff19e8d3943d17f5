//! What a file is, from its first bytes: the name and the browser's
//! declared type are the uploader's word, the magic numbers are not.

/// How many leading bytes [`content_type`] looks at.
pub const HEAD: usize = 512;

/// The content type of a file starting with `head`, among the types Tabys
/// accepts; `None` for anything else. Office files (DOCX, XLSX, PPTX) are
/// ZIP archives and are all named
/// `application/vnd.openxmlformats-officedocument`.
pub fn content_type(head: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if starts(b"%PDF-") {
        Some("application/pdf")
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(b"\xff\xd8\xff") {
        Some("image/jpeg")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if starts(b"RIFF") && at(8, b"WEBP") {
        Some("image/webp")
    } else if starts(b"RIFF") && at(8, b"WAVE") {
        Some("audio/wav")
    } else if at(4, b"ftyp") {
        // ISO media: M4A audio or MP4 video by its brand.
        if at(8, b"M4A ") {
            Some("audio/mp4")
        } else {
            Some("video/mp4")
        }
    } else if starts(b"\x1a\x45\xdf\xa3") {
        Some("video/webm")
    } else if starts(b"ID3") || starts(b"\xff\xfb") || starts(b"\xff\xf3") || starts(b"\xff\xf2") {
        Some("audio/mpeg")
    } else if starts(b"OggS") {
        Some("audio/ogg")
    } else if starts(b"PK\x03\x04") && is_office(head) {
        Some("application/vnd.openxmlformats-officedocument")
    } else if is_text(head) {
        Some("text/plain")
    } else {
        None
    }
}

/// An Office Open XML file names `[Content_Types].xml` or a `word/`,
/// `xl/` or `ppt/` part among its first entries.
fn is_office(head: &[u8]) -> bool {
    [
        &b"[Content_Types].xml"[..],
        b"word/",
        b"xl/",
        b"ppt/",
        b"docProps/",
    ]
    .iter()
    .any(|name| head.windows(name.len()).any(|w| w == *name))
}

/// UTF-8 text (a CSV table, notes) without control characters other than
/// tabs and line breaks. The last few bytes may be a character cut in half.
fn is_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if head.len() - e.valid_up_to() < 4 && e.error_len().is_none() => {
            match std::str::from_utf8(&head[..e.valid_up_to()]) {
                Ok(s) => s,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_types_are_recognised_by_content() {
        let cases: [(&[u8], Option<&str>); 14] = [
            (b"%PDF-1.7\n", Some("application/pdf")),
            (b"\x89PNG\r\n\x1a\n\0\0", Some("image/png")),
            (b"\xff\xd8\xff\xe0", Some("image/jpeg")),
            (b"GIF89a..", Some("image/gif")),
            (b"RIFF\0\0\0\0WEBPVP8 ", Some("image/webp")),
            (b"RIFF\0\0\0\0WAVEfmt ", Some("audio/wav")),
            (b"\0\0\0\x18ftypmp42", Some("video/mp4")),
            (b"\0\0\0\x18ftypM4A ", Some("audio/mp4")),
            (b"\x1a\x45\xdf\xa3\x01", Some("video/webm")),
            (b"ID3\x04\0", Some("audio/mpeg")),
            (b"OggS\0", Some("audio/ogg")),
            (
                b"PK\x03\x04....[Content_Types].xml",
                Some("application/vnd.openxmlformats-officedocument"),
            ),
            ("name;email\nАйгүл;a@b.kz\n".as_bytes(), Some("text/plain")),
            (b"MZ\x90\0\x03\0\0\0", None),
        ];
        for (head, expected) in cases {
            assert_eq!(content_type(head), expected, "{head:?}");
        }
    }

    #[test]
    fn a_zip_that_is_not_an_office_file_and_binary_junk_are_refused() {
        assert_eq!(content_type(b"PK\x03\x04\0\0evil.exe"), None);
        assert_eq!(content_type(b"\0\x01\x02\x03"), None);
        assert_eq!(content_type(b""), None);
    }

    #[test]
    fn text_cut_in_the_middle_of_a_letter_is_still_text() {
        let text = "Сабақ".as_bytes();
        assert_eq!(content_type(&text[..text.len() - 1]), Some("text/plain"));
    }
}
