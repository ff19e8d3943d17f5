//! A course's PDFs and pictures marked with the person they are given to
//! (LZ-8): the marked copy is still a valid file, shows the person's name
//! and e-mail, keeps what was there; what cannot be marked is refused.

mod poppler;

use std::io::Cursor;

use lopdf::{Dictionary, Document, Object, Stream};
use poppler::{run, words};
use tabys_render::stamp::{self, StampError};

const MARK: &str = "Әлия Серікқызы · aliya.s@example.kz · 08.03.2026";

fn name(s: &str) -> Object {
    Object::Name(s.as_bytes().to_vec())
}

/// A three-page PDF as other programs write them: PDF 1.5 with objects in
/// object streams and a cross-reference stream, compressed content, the
/// font and page size inherited from the page tree, the second page turned
/// a quarter, the third leaving its graphics state changed.
fn uploaded_pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let mut font = Dictionary::new();
    font.set("Type", name("Font"));
    font.set("Subtype", name("Type1"));
    font.set("BaseFont", name("Helvetica"));
    let font_id = doc.add_object(Object::Dictionary(font));
    let mut fonts = Dictionary::new();
    fonts.set("F1", Object::Reference(font_id));
    let mut resources = Dictionary::new();
    resources.set("Font", Object::Dictionary(fonts));
    let resources_id = doc.add_object(Object::Dictionary(resources));
    let mut kids = Vec::new();
    for (n, rotate, tail) in [
        (1, 0, ""),
        (2, 90, ""),
        (3, 0, " q 0.2 0 0 0.2 0 0 cm 1 0 0 rg"),
    ] {
        let content = format!("BT /F1 20 Tf 72 700 Td (Original page {n}) Tj ET{tail}");
        let mut stream = Stream::new(Dictionary::new(), content.into_bytes());
        stream.compress().expect("compresses");
        let content_id = doc.add_object(stream);
        let mut page = Dictionary::new();
        page.set("Type", name("Page"));
        page.set("Parent", Object::Reference(pages_id));
        page.set("Contents", Object::Reference(content_id));
        if rotate != 0 {
            page.set("Rotate", Object::Integer(rotate));
        }
        kids.push(Object::Reference(doc.add_object(Object::Dictionary(page))));
    }
    let mut pages = Dictionary::new();
    pages.set("Type", name("Pages"));
    pages.set("Count", Object::Integer(kids.len() as i64));
    pages.set("Kids", Object::Array(kids));
    pages.set("Resources", Object::Reference(resources_id));
    pages.set(
        "MediaBox",
        Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]),
    );
    doc.objects.insert(pages_id, Object::Dictionary(pages));
    let mut catalog = Dictionary::new();
    catalog.set("Type", name("Catalog"));
    catalog.set("Pages", Object::Reference(pages_id));
    let catalog_id = doc.add_object(Object::Dictionary(catalog));
    doc.trailer.set("Root", Object::Reference(catalog_id));
    let mut out = Vec::new();
    doc.save_modern(&mut out).expect("saves");
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn page_text(pdf: &[u8], page: usize) -> String {
    let n = page.to_string();
    words(&run(
        "pdftotext",
        &["-enc", "UTF-8", "-f", &n, "-l", &n, "-", "-"],
        pdf,
    ))
}

#[test]
fn every_page_of_an_uploaded_pdf_shows_the_students_name_and_email_and_keeps_its_own_text() {
    let original = uploaded_pdf();
    assert!(
        contains(&original, b"/XRef"),
        "the fixture has a cross-reference stream"
    );
    assert!(
        contains(&original, b"/ObjStm"),
        "the fixture has object streams"
    );
    assert!(!contains(&original, b"aliya"));

    let marked = stamp::pdf(&original, MARK).expect("marks");
    let info = run("pdfinfo", &["-"], &marked);
    assert!(
        info.lines()
            .any(|l| l.starts_with("Pages:") && l.ends_with(" 3")),
        "{info}"
    );
    for page in 1..=3 {
        let text = page_text(&marked, page);
        assert!(
            text.contains(&format!("Original page {page}")),
            "page {page}: {text}"
        );
        assert!(text.contains("aliya.s@example.kz"), "page {page}: {text}");
        assert!(text.contains("Әлия Серікқызы"), "page {page}: {text}");
    }
    // The turned page is still turned, and no page's content was rewritten.
    let doc = Document::load_mem(&marked).expect("parses again");
    let pages: Vec<_> = doc.page_iter().collect();
    assert_eq!(pages.len(), 3);
    for page in &pages {
        assert_eq!(doc.get_page_contents(*page).len(), 3, "save, own, mark");
    }
    let second = doc.get_dictionary(pages[1]).expect("page");
    assert_eq!(
        second.get(b"Rotate").and_then(Object::as_i64).ok(),
        Some(90)
    );
}

#[test]
fn marking_a_marked_copy_again_adds_the_second_persons_mark() {
    let first = stamp::pdf(&uploaded_pdf(), MARK).expect("marks");
    let second = stamp::pdf(&first, "Данияр Студентов · daniyar@example.kz · 09.03.2026")
        .expect("marks again");
    let text = page_text(&second, 1);
    assert!(text.contains("aliya.s@example.kz"), "{text}");
    assert!(text.contains("daniyar@example.kz"), "{text}");
}

#[test]
fn a_pdf_of_this_crate_is_marked_too() {
    let mut doc = tabys_render::Document::new("Сабақ 1");
    doc.paragraph("Қазақстан");
    let pdf = doc.to_pdf().expect("renders");
    let text = page_text(&stamp::pdf(&pdf, MARK).expect("marks"), 1);
    assert!(
        text.contains("Қазақстан") && text.contains("aliya.s@example.kz"),
        "{text}"
    );
}

#[test]
fn an_encrypted_pdf_is_refused_not_served_unmarked() {
    let mut doc = Document::load_mem(&uploaded_pdf()).expect("parses");
    let mut encrypt = Dictionary::new();
    encrypt.set("Filter", name("Standard"));
    encrypt.set("V", Object::Integer(1));
    encrypt.set("R", Object::Integer(2));
    encrypt.set("O", Object::string_literal(vec![1u8; 32]));
    encrypt.set("U", Object::string_literal(vec![2u8; 32]));
    encrypt.set("P", Object::Integer(-4));
    let encrypt_id = doc.add_object(Object::Dictionary(encrypt));
    doc.trailer.set("Encrypt", Object::Reference(encrypt_id));
    doc.trailer.set(
        "ID",
        Object::Array(vec![Object::string_literal(vec![3u8; 16]); 2]),
    );
    let mut encrypted = Vec::new();
    doc.save_to(&mut encrypted).expect("saves");
    assert_eq!(stamp::pdf(&encrypted, MARK), Err(StampError::Encrypted));
}

#[test]
fn a_damaged_or_foreign_file_is_refused_as_unreadable() {
    let original = uploaded_pdf();
    for bad in [
        b"%PDF-1.7\nnot really a PDF at all".to_vec(),
        b"hello".to_vec(),
        Vec::new(),
        original[..original.len() / 3].to_vec(),
    ] {
        assert_eq!(stamp::pdf(&bad, MARK), Err(StampError::Unreadable));
        assert_eq!(stamp::image(&bad, MARK), Err(StampError::Unreadable));
    }
}

fn white(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]))
}

fn encoded(img: &image::RgbImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

/// How many pixels of rows `rows` are no longer white.
fn changed(img: &image::RgbImage, rows: std::ops::Range<u32>) -> usize {
    rows.flat_map(|y| (0..img.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0.iter().any(|c| *c < 240))
        .count()
}

#[test]
fn a_picture_keeps_its_size_and_type_and_gets_the_mark_at_the_bottom_and_across() {
    let original = white(640, 480);
    let marked = stamp::image(&encoded(&original, image::ImageFormat::Png), MARK).expect("marks");
    assert_eq!(marked.content_type, "image/png");
    let decoded = image::load_from_memory_with_format(&marked.bytes, image::ImageFormat::Png)
        .expect("decodes")
        .into_rgb8();
    assert_eq!(decoded.dimensions(), (640, 480));
    assert!(
        changed(&decoded, 440..480) > 200,
        "the bottom edge is marked"
    );
    assert!(changed(&decoded, 200..280) > 200, "the middle is marked");
    assert_eq!(changed(&decoded, 0..20), 0, "the top corner is left alone");

    let jpeg = stamp::image(&encoded(&original, image::ImageFormat::Jpeg), MARK).expect("marks");
    assert_eq!(jpeg.content_type, "image/jpeg");
    let decoded = image::load_from_memory_with_format(&jpeg.bytes, image::ImageFormat::Jpeg)
        .expect("decodes")
        .into_rgb8();
    assert_eq!(decoded.dimensions(), (640, 480));
    assert!(changed(&decoded, 440..480) > 200);
}

#[test]
fn a_gif_becomes_a_marked_png_of_the_same_size() {
    let gif = encoded(&white(200, 100), image::ImageFormat::Gif);
    let marked = stamp::image(&gif, MARK).expect("marks");
    assert_eq!(marked.content_type, "image/png");
    let decoded = image::load_from_memory(&marked.bytes)
        .expect("decodes")
        .into_rgb8();
    assert_eq!(decoded.dimensions(), (200, 100));
    assert!(changed(&decoded, 80..100) > 50);
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_picture_over_forty_megapixels_is_refused_before_it_is_decoded() {
    // A PNG whose header claims 8,000 × 6,000 pixels: refused from the
    // header alone, without allocating them.
    let mut png = encoded(&white(1, 1), image::ImageFormat::Png);
    let ihdr = 8; // after the signature: length, "IHDR", width, height, …
    png[ihdr + 8..ihdr + 12].copy_from_slice(&8_000u32.to_be_bytes());
    png[ihdr + 12..ihdr + 16].copy_from_slice(&6_000u32.to_be_bytes());
    let crc = crc32(&png[ihdr + 4..ihdr + 21]);
    png[ihdr + 21..ihdr + 25].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(stamp::image(&png, MARK), Err(StampError::TooLarge));
}
