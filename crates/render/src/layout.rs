//! Puts a document's blocks on A4 pages: measures text with the font's
//! advance widths, wraps it at word boundaries (a word wider than the line
//! is split between letters), and starts a new page when one is full.
//! No kerning or shaping: Cyrillic, Kazakh and Latin letters need none.

use crate::{BOLD, Block, Document, Error, REGULAR, Rgb};

/// A4 in points.
pub(crate) const PAGE_WIDTH: f32 = 595.28;
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 56.0;
const TOP: f32 = PAGE_HEIGHT - 56.0;
const BOTTOM: f32 = 60.0;
const FOOTER_Y: f32 = 32.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
/// The share of the line a key-value line's label takes.
const KEY_SHARE: f32 = 0.34;
const KEY_GAP: f32 = 10.0;

const TITLE_SIZE: f32 = 16.0;
const HEADING_SIZE: f32 = 12.5;
const BODY_SIZE: f32 = 10.0;
const NOTE_SIZE: f32 = 8.5;
const DISPLAY_SIZE: f32 = 22.0;
/// The side of a QR code on the page, in points.
const QR_SIDE: f32 = 110.0;
const LEADING: f32 = 1.38;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Regular,
    Bold,
}

pub(crate) struct Font {
    face: ttf_parser::Face<'static>,
    pub data: &'static [u8],
    pub name: &'static str,
}

impl Font {
    fn load(data: &'static [u8], name: &'static str) -> Result<Self, Error> {
        let face =
            ttf_parser::Face::parse(data, 0).map_err(|e| Error::Font(format!("{name}: {e}")))?;
        Ok(Self { face, data, name })
    }

    /// The glyph for a character; 0 (the "missing" box) when the font has none.
    pub fn glyph(&self, c: char) -> u16 {
        self.face.glyph_index(c).map_or(0, |g| g.0)
    }

    /// A glyph's advance in thousandths of the font size, as PDF widths are given.
    pub fn advance(&self, glyph: u16) -> f32 {
        let units = self
            .face
            .glyph_hor_advance(ttf_parser::GlyphId(glyph))
            .unwrap_or(0);
        f32::from(units) * 1000.0 / self.units_per_em()
    }

    fn units_per_em(&self) -> f32 {
        f32::from(self.face.units_per_em().max(1))
    }

    fn scale(&self, v: i16) -> f32 {
        f32::from(v) * 1000.0 / self.units_per_em()
    }

    pub fn ascent(&self) -> f32 {
        self.scale(self.face.ascender())
    }

    pub fn descent(&self) -> f32 {
        self.scale(self.face.descender())
    }

    pub fn cap_height(&self) -> f32 {
        self.scale(self.face.capital_height().unwrap_or(self.face.ascender()))
    }

    pub fn bbox(&self) -> [f32; 4] {
        let r = self.face.global_bounding_box();
        [
            self.scale(r.x_min),
            self.scale(r.y_min),
            self.scale(r.x_max),
            self.scale(r.y_max),
        ]
    }

    /// The width of a text in points at a font size.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.advance(self.glyph(c)))
            .sum::<f32>()
            * size
            / 1000.0
    }
}

pub(crate) struct Fonts {
    pub regular: Font,
    pub bold: Font,
}

impl Fonts {
    pub fn load() -> Result<Self, Error> {
        Ok(Self {
            regular: Font::load(REGULAR, "DejaVuSans")?,
            bold: Font::load(BOLD, "DejaVuSans-Bold")?,
        })
    }

    pub fn get(&self, style: Style) -> &Font {
        match style {
            Style::Regular => &self.regular,
            Style::Bold => &self.bold,
        }
    }
}

/// One line of text placed on a page; `y` is its baseline.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub style: Style,
    pub size: f32,
    pub x: f32,
    pub y: f32,
    pub grey: bool,
    pub text: String,
    /// Printed in this colour instead of black or grey.
    pub colour: Option<Rgb>,
}

/// A thin horizontal rule from `x1` to `x2` at `y`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub x1: f32,
    pub x2: f32,
    pub y: f32,
}

/// A rectangle: filled (QR modules, bands) or only outlined (frames).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub colour: Rgb,
    /// Outline width; `None` fills the rectangle.
    pub stroke: Option<f32>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Page {
    pub runs: Vec<Run>,
    pub rules: Vec<Rule>,
    pub rects: Vec<Rect>,
}

struct Cursor<'f> {
    fonts: &'f Fonts,
    accent: Option<Rgb>,
    pages: Vec<Page>,
    /// The top of the next line.
    y: f32,
}

impl Cursor<'_> {
    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = TOP;
    }

    /// Starts a new page unless `height` still fits on this one.
    fn need(&mut self, height: f32) {
        if self.y - height < BOTTOM && !self.page().runs.is_empty() {
            self.new_page();
        }
    }

    fn gap(&mut self, height: f32) {
        if self.y < TOP {
            self.y -= height;
        }
    }

    fn line(&mut self, style: Style, size: f32, x: f32, grey: bool, text: String) {
        let height = size * LEADING;
        self.need(height);
        let y = self.y - size;
        self.page().runs.push(Run {
            style,
            size,
            x,
            y,
            grey,
            text,
            colour: None,
        });
        self.y -= height;
    }

    fn text(&mut self, style: Style, size: f32, grey: bool, text: &str) {
        let font = self.fonts.get(style);
        for line in wrap(font, size, text, CONTENT_WIDTH) {
            if line.is_empty() {
                self.y -= size * LEADING * 0.6;
            } else {
                self.line(style, size, MARGIN_X, grey, line);
            }
        }
    }

    /// Text centred on the line, wrapped if it is wider than the content.
    fn centered(&mut self, style: Style, size: f32, text: &str, colour: Option<Rgb>) {
        let font = self.fonts.get(style);
        for line in wrap(font, size, text, CONTENT_WIDTH) {
            if line.is_empty() {
                self.y -= size * LEADING * 0.6;
                continue;
            }
            let height = size * LEADING;
            self.need(height);
            let x = (PAGE_WIDTH - font.width(&line, size)) / 2.0;
            let y = self.y - size;
            self.page().runs.push(Run {
                style,
                size,
                x,
                y,
                grey: false,
                text: line,
                colour,
            });
            self.y -= height;
        }
    }

    /// A QR code as dark squares on the page, centred.
    fn qr(&mut self, text: &str) -> Result<(), Error> {
        let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| Error::Qr(e.to_string()))?;
        let n = code.width();
        let colours = code.to_colors();
        // A quiet zone of four modules on each side, as readers expect.
        let module = QR_SIDE / (n as f32 + 8.0);
        self.need(QR_SIDE + 6.0);
        let left = (PAGE_WIDTH - QR_SIDE) / 2.0 + 4.0 * module;
        let top = self.y - 4.0 * module;
        let dark = Rgb(20, 20, 20);
        for (i, c) in colours.iter().enumerate() {
            if *c == qrcode::Color::Dark {
                let (row, col) = (i / n, i % n);
                self.page().rects.push(Rect {
                    x: left + col as f32 * module,
                    y: top - (row as f32 + 1.0) * module,
                    w: module,
                    h: module,
                    colour: dark,
                    stroke: None,
                });
            }
        }
        self.y -= QR_SIDE + 6.0;
        Ok(())
    }

    fn key_value(&mut self, key: &str, value: &str) {
        let key_width = CONTENT_WIDTH * KEY_SHARE;
        let value_x = MARGIN_X + key_width + KEY_GAP;
        let keys = wrap(&self.fonts.regular, BODY_SIZE, key, key_width);
        let values = wrap(
            &self.fonts.regular,
            BODY_SIZE,
            value,
            CONTENT_WIDTH - key_width - KEY_GAP,
        );
        let height = BODY_SIZE * LEADING;
        for i in 0..keys.len().max(values.len()) {
            self.need(height);
            let y = self.y - BODY_SIZE;
            if let Some(k) = keys.get(i).filter(|k| !k.is_empty()) {
                self.page().runs.push(Run {
                    style: Style::Regular,
                    size: BODY_SIZE,
                    x: MARGIN_X,
                    y,
                    grey: true,
                    text: k.clone(),
                    colour: None,
                });
            }
            if let Some(v) = values.get(i).filter(|v| !v.is_empty()) {
                self.page().runs.push(Run {
                    style: Style::Regular,
                    size: BODY_SIZE,
                    x: value_x,
                    y,
                    grey: false,
                    text: v.clone(),
                    colour: None,
                });
            }
            self.y -= height;
        }
        self.y -= 2.0;
    }
}

/// Places every block; the last step numbers the pages.
pub(crate) fn lay_out(doc: &Document, fonts: &Fonts) -> Result<Vec<Page>, Error> {
    let mut c = Cursor {
        fonts,
        accent: doc.accent_colour(),
        pages: vec![Page::default()],
        y: TOP,
    };
    if !doc.title().trim().is_empty() {
        if c.accent.is_some() {
            c.centered(Style::Bold, TITLE_SIZE + 4.0, doc.title(), c.accent);
        } else {
            c.text(Style::Bold, TITLE_SIZE, false, doc.title());
        }
        c.y -= 4.0;
        let y = c.y;
        c.page().rules.push(Rule {
            x1: MARGIN_X,
            x2: PAGE_WIDTH - MARGIN_X,
            y,
        });
        c.y -= 12.0;
    }
    for block in doc.blocks() {
        match block {
            Block::Heading(text) => {
                c.gap(8.0);
                // A heading is never left alone at the foot of a page.
                c.need(HEADING_SIZE * LEADING + BODY_SIZE * LEADING * 2.0);
                c.text(Style::Bold, HEADING_SIZE, false, text);
                c.y -= 3.0;
            }
            Block::Paragraph(text) => {
                c.text(Style::Regular, BODY_SIZE, false, text);
                c.y -= 5.0;
            }
            Block::Note(text) => {
                c.text(Style::Regular, NOTE_SIZE, true, text);
                c.y -= 4.0;
            }
            Block::KeyValue(key, value) => c.key_value(key, value),
            Block::PageBreak => {
                if !c.page().runs.is_empty() {
                    c.new_page();
                }
            }
            Block::Display(text) => {
                c.gap(6.0);
                c.centered(Style::Bold, DISPLAY_SIZE, text, c.accent);
                c.y -= 6.0;
            }
            Block::Centered(text) => {
                c.centered(Style::Regular, BODY_SIZE + 1.0, text, None);
                c.y -= 3.0;
            }
            Block::Qr(text) => c.qr(text)?,
        }
    }
    let total = c.pages.len();
    for (i, page) in c.pages.iter_mut().enumerate() {
        let text = format!("{} / {total}", i + 1);
        let x = (PAGE_WIDTH - fonts.regular.width(&text, NOTE_SIZE)) / 2.0;
        page.runs.push(Run {
            style: Style::Regular,
            size: NOTE_SIZE,
            x,
            y: FOOTER_Y,
            grey: true,
            text,
            colour: None,
        });
        if let Some(colour) = doc.accent_colour() {
            page.rects.push(Rect {
                x: 20.0,
                y: 20.0,
                w: PAGE_WIDTH - 40.0,
                h: PAGE_HEIGHT - 40.0,
                colour,
                stroke: Some(3.0),
            });
            page.rects.push(Rect {
                x: 26.0,
                y: 26.0,
                w: PAGE_WIDTH - 52.0,
                h: PAGE_HEIGHT - 52.0,
                colour,
                stroke: Some(0.8),
            });
        }
    }
    Ok(c.pages)
}

/// Breaks a text into lines no wider than `width` points. Each line of the
/// source starts a new line; an empty source line gives an empty line.
/// Runs of spaces collapse to one and tabs count as spaces.
pub(crate) fn wrap(font: &Font, size: f32, text: &str, width: f32) -> Vec<String> {
    let mut out = Vec::new();
    for source in text.split('\n') {
        let source: String = source
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        if source.trim().is_empty() {
            out.push(String::new());
            continue;
        }
        let mut current = String::new();
        for word in source.split(' ').filter(|w| !w.is_empty()) {
            let candidate = if current.is_empty() {
                word.to_string()
            } else {
                format!("{current} {word}")
            };
            if font.width(&candidate, size) <= width {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            if font.width(word, size) <= width {
                current = word.to_string();
                continue;
            }
            for c in word.chars() {
                let mut next = current.clone();
                next.push(c);
                if font.width(&next, size) > width && !current.is_empty() {
                    out.push(std::mem::replace(&mut current, c.to_string()));
                } else {
                    current = next;
                }
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fonts() -> Fonts {
        match Fonts::load() {
            Ok(f) => f,
            Err(e) => panic!("embedded fonts must load: {e}"),
        }
    }

    #[test]
    fn every_kazakh_letter_has_a_glyph_in_both_fonts() {
        let f = fonts();
        for c in "әғқңөұүһіӘҒҚҢӨҰҮҺІабвгдеёжзийклмнопрстуфхцчшщъыьэюяЁ№«»—".chars()
        {
            assert_ne!(f.regular.glyph(c), 0, "regular lacks {c}");
            assert_ne!(f.bold.glyph(c), 0, "bold lacks {c}");
        }
    }

    #[test]
    fn wrapped_lines_fit_and_keep_every_word_in_order() {
        let f = fonts();
        let text = "Оферта-Шарттың Акцептін жасай отырып, Пайдаланушы Орындаушының Оферта-Шартты орындауға басқа тұлғаларды тартуға келісімін білдіреді.";
        let lines = wrap(&f.regular, 10.0, text, 150.0);
        assert!(lines.len() > 3);
        for l in &lines {
            assert!(f.regular.width(l, 10.0) <= 150.0, "{l}");
        }
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn a_word_longer_than_the_line_is_split_between_letters() {
        let f = fonts();
        let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let lines = wrap(&f.regular, 10.0, hash, 100.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), hash);
    }

    #[test]
    fn empty_source_lines_are_kept_as_gaps() {
        let f = fonts();
        assert_eq!(wrap(&f.regular, 10.0, "а\n\nб", 500.0), vec!["а", "", "б"]);
    }

    #[test]
    fn long_text_flows_onto_more_pages_and_every_page_is_numbered() {
        let f = fonts();
        let mut doc = Document::new("Длинный документ");
        for i in 0..200 {
            doc.paragraph(format!(
                "Абзац {i}: Пользователь обязуется исполнять правила пользования Сайтом."
            ));
        }
        let pages = lay_out(&doc, &f).expect("lays out");
        assert!(pages.len() > 2);
        let total = pages.len();
        for (i, p) in pages.iter().enumerate() {
            assert!(
                p.runs
                    .iter()
                    .any(|r| r.text == format!("{} / {total}", i + 1))
            );
            assert!(p.runs.iter().all(|r| r.y >= FOOTER_Y && r.y <= PAGE_HEIGHT));
        }
    }

    #[test]
    fn page_break_starts_a_new_page() {
        let f = fonts();
        let mut doc = Document::new("T");
        doc.paragraph("one").page_break().paragraph("two");
        let pages = lay_out(&doc, &f).expect("lays out");
        assert_eq!(pages.len(), 2);
        assert!(pages[1].runs.iter().any(|r| r.text == "two"));
    }
}
