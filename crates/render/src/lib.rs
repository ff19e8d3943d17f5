//! PDF documents for people and courts: accepted offers, acceptance
//! certificates, and later invoices, acts and course certificates.
//!
//! A [`Document`] is a list of blocks — a title, headings, paragraphs,
//! key-value lines and page breaks — laid out on A4 pages with word
//! wrapping and page numbers. Text is set in DejaVu Sans, embedded in the
//! file (only the glyphs used), so Russian and Kazakh letters (ә ғ қ ң ө ұ ү
//! һ і) print on any machine without system fonts. Every font carries a
//! ToUnicode map, so the text can be searched, copied and extracted.
//!
//! ```
//! let mut doc = tabys_render::Document::new("Сертификат акцепта");
//! doc.heading("Оферта")
//!     .paragraph("Пайдаланушы офертаны қабылдады.")
//!     .key_value("Хеш", "9f86d081884c7d65");
//! let pdf = doc.to_pdf().expect("the embedded fonts are valid");
//! assert!(pdf.starts_with(b"%PDF-1.7"));
//! ```
//!
//! [`stamp`] marks an existing PDF or picture with the person it is given
//! to (a course's material, LZ-8).
//!
//! This crate owns layout and the PDF format only. It knows nothing of
//! offers, money or the database, and it must not: callers decide what a
//! document says, in which language, and where the bytes go. Output is
//! deterministic (no dates, no random ids), so the same document always
//! gives the same bytes.

mod layout;
mod pdf;
pub mod stamp;

use std::fmt;

/// DejaVu Sans (Bitstream Vera license, DejaVu changes in the public
/// domain; see `fonts/LICENSE`).
const REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// One piece of a document, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A section heading, bold.
    Heading(String),
    /// Running text. Line breaks start a new line; an empty line leaves a gap.
    Paragraph(String),
    /// Small grey text: notes, footnotes, hashes.
    Note(String),
    /// A label and its value side by side, such as "IP: 10.0.0.1".
    KeyValue(String, String),
    /// What follows starts on a new page.
    PageBreak,
    /// Large bold text in the accent colour, centred: a certificate's
    /// holder or course.
    Display(String),
    /// Running text centred on the line.
    Centered(String),
    /// A QR code of this text (a link), drawn as vector squares and
    /// centred, so it stays sharp at any zoom and in print.
    Qr(String),
}

/// A colour as red, green and blue from 0 to 255.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// A document to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    title: String,
    blocks: Vec<Block>,
    accent: Option<Rgb>,
}

impl Document {
    /// A document whose title is printed at the top of the first page and
    /// stored as the PDF's title.
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            blocks: Vec::new(),
            accent: None,
        }
    }

    /// Prints the title, headings and display text in this colour and
    /// frames every page with it: a coloured document such as a
    /// certificate (LZ 9.4).
    pub fn accent(&mut self, colour: Rgb) -> &mut Self {
        self.accent = Some(colour);
        self
    }

    pub fn accent_colour(&self) -> Option<Rgb> {
        self.accent
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    pub fn push(&mut self, block: Block) -> &mut Self {
        self.blocks.push(block);
        self
    }

    pub fn heading(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Heading(text.into()))
    }

    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Paragraph(text.into()))
    }

    pub fn note(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Note(text.into()))
    }

    pub fn key_value(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.push(Block::KeyValue(key.into(), value.into()))
    }

    pub fn page_break(&mut self) -> &mut Self {
        self.push(Block::PageBreak)
    }

    pub fn display(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Display(text.into()))
    }

    pub fn centered(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Centered(text.into()))
    }

    pub fn qr(&mut self, text: impl Into<String>) -> &mut Self {
        self.push(Block::Qr(text.into()))
    }

    /// The PDF file's bytes.
    pub fn to_pdf(&self) -> Result<Vec<u8>, Error> {
        let fonts = layout::Fonts::load()?;
        let pages = layout::lay_out(self, &fonts)?;
        pdf::write(&self.title, &pages, &fonts)
    }
}

/// Rendering failed. With the fonts compiled in, this means a bug, not bad input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// An embedded font could not be read or subset.
    Font(String),
    /// The text of a QR code does not fit in one.
    Qr(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Font(cause) => write!(f, "font error: {cause}"),
            Self::Qr(cause) => write!(f, "QR code error: {cause}"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod colour_tests {
    use super::*;

    #[test]
    fn an_accented_document_has_a_coloured_frame_and_a_qr_code_of_squares() {
        let mut doc = Document::new("Сертификат");
        doc.accent(Rgb(20, 90, 160))
            .display("Әлия Серікқызы")
            .qr("https://tabys.kz/certificates/TBS-2026-ABCD");
        let fonts = layout::Fonts::load().expect("fonts");
        let pages = layout::lay_out(&doc, &fonts).expect("lays out");
        let page = &pages[0];
        assert_eq!(page.rects.iter().filter(|r| r.stroke.is_some()).count(), 2);
        assert!(page.rects.iter().filter(|r| r.stroke.is_none()).count() > 100);
        assert!(page.runs.iter().any(|r| r.colour == Some(Rgb(20, 90, 160))));
        assert!(doc.to_pdf().expect("renders").starts_with(b"%PDF"));
    }

    #[test]
    fn text_too_long_for_a_qr_code_is_an_error_not_a_panic() {
        let mut doc = Document::new("x");
        doc.qr("x".repeat(10_000));
        assert!(matches!(doc.to_pdf(), Err(Error::Qr(_))));
    }
}
