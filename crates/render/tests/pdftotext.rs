//! The PDFs are checked by a real reader: poppler's `pdftotext` and
//! `pdfinfo` (Debian package poppler-utils). Without them these tests fail
//! and say so; they never pass without having looked at a PDF.

mod poppler;

use poppler::{run, words};
use tabys_render::Document;

fn render(doc: &Document) -> Vec<u8> {
    doc.to_pdf().unwrap_or_else(|e| panic!("rendering: {e}"))
}

const KAZAKH: &str = "Оферта-Шарттың Акцептін жасай отырып, Пайдаланушы Орындаушының басқа тұлғаларды тартуға келісімін білдіреді. Әріптер: ә ғ қ ң ө ұ ү һ і Ә Ғ Қ Ң Ө Ұ Ү Һ І.";

#[test]
fn kazakh_text_round_trips_through_pdftotext() {
    let mut doc = Document::new("Қызмет көрсетудің жария офертасы");
    doc.heading("1. Жалпы ережелер")
        .paragraph(KAZAKH)
        .key_value("Хеш (SHA-256)", "9f86d081884c7d659a2feaa0c55ad015");
    let text = words(&run(
        "pdftotext",
        &["-enc", "UTF-8", "-", "-"],
        &render(&doc),
    ));
    assert!(text.contains("Қызмет көрсетудің жария офертасы"), "{text}");
    assert!(text.contains(&words(KAZAKH)), "{text}");
    assert!(text.contains("9f86d081884c7d659a2feaa0c55ad015"), "{text}");
}

#[test]
fn a_kazakh_pdf_is_valid_for_pdfinfo_and_has_its_title() {
    let mut doc = Document::new("Сертификат акцепта — Акцепт сертификаты");
    doc.paragraph(KAZAKH);
    let info = run("pdfinfo", &["-"], &render(&doc));
    assert!(info.contains("Pages:"), "{info}");
    assert!(
        info.contains("Сертификат акцепта — Акцепт сертификаты"),
        "{info}"
    );
    assert!(
        info.lines()
            .any(|l| l.starts_with("PDF version:") && l.ends_with("1.7")),
        "{info}"
    );
}

#[test]
fn russian_paragraphs_across_pages_are_all_extracted_in_order() {
    let mut doc = Document::new("Публичная оферта");
    let mut expected = Vec::new();
    for i in 1..=120 {
        let p = format!(
            "{i}. Пользователь обязуется исполнять правила пользования Сайтом, ознакомиться с условиями Договора-Оферты."
        );
        doc.paragraph(p.clone());
        expected.push(p);
    }
    doc.page_break()
        .heading("Приложение")
        .paragraph("Конец документа.");
    let pdf = render(&doc);
    let info = run("pdfinfo", &["-"], &pdf);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(pages >= 4, "{info}");
    let text = words(&run("pdftotext", &["-enc", "UTF-8", "-", "-"], &pdf));
    let mut at = 0;
    for p in expected.iter().map(|p| words(p)) {
        let found = text[at..]
            .find(&p)
            .unwrap_or_else(|| panic!("missing or out of order: {p}"));
        at += found + p.len();
    }
    assert!(text.contains("Конец документа."));
}

#[test]
fn the_same_document_gives_the_same_bytes() {
    let mut doc = Document::new("Акт");
    doc.paragraph("Қазақстан");
    assert_eq!(render(&doc), render(&doc));
}
