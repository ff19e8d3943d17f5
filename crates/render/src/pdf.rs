//! Writes laid-out pages as a PDF 1.7 file, object by object.
//!
//! Each font is embedded as a Type0 font with Identity-H encoding over a
//! CIDFontType2 (TrueType) descendant: text is written as two-byte glyph
//! ids of the subset font, and a ToUnicode CMap maps them back to
//! characters so readers can search and extract the text. Streams are
//! compressed with zlib (FlateDecode).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use subsetter::GlyphRemapper;

use crate::Error;
use crate::layout::{Font, Fonts, PAGE_HEIGHT, PAGE_WIDTH, Page, Style};

/// The glyphs of one font that a document uses, and the characters behind them.
pub(crate) struct Used {
    remapper: GlyphRemapper,
    /// New glyph id -> the first character drawn with it.
    unicode: BTreeMap<u16, char>,
}

impl Used {
    pub(crate) fn new() -> Self {
        Self {
            remapper: GlyphRemapper::new(),
            unicode: BTreeMap::new(),
        }
    }

    pub(crate) fn add(&mut self, font: &Font, c: char) -> u16 {
        let new = self.remapper.remap(font.glyph(c));
        self.unicode.entry(new).or_insert(c);
        new
    }
}

/// The file being written: bytes so far and where each object starts.
struct Writer {
    out: Vec<u8>,
    offsets: Vec<usize>,
}

impl Writer {
    fn new() -> Self {
        // The second line's high bytes tell transfer tools the file is binary.
        let mut out = b"%PDF-1.7\n%".to_vec();
        out.extend_from_slice(&[0xE2, 0xE3, 0xCF, 0xD3, b'\n']);
        Self {
            out,
            offsets: Vec::new(),
        }
    }

    /// Reserves an object number to refer to before the object is written.
    fn reserve(&mut self) -> usize {
        self.offsets.push(0);
        self.offsets.len()
    }

    fn object(&mut self, id: usize, body: &str) {
        self.begin(id);
        self.out.extend_from_slice(body.as_bytes());
        self.out.extend_from_slice(b"\nendobj\n");
    }

    fn stream(&mut self, id: usize, dict: &str, data: &[u8]) {
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(data, 9);
        self.begin(id);
        let head = format!(
            "<< {dict} /Filter /FlateDecode /Length {} >>\nstream\n",
            packed.len()
        );
        self.out.extend_from_slice(head.as_bytes());
        self.out.extend_from_slice(&packed);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }

    fn begin(&mut self, id: usize) {
        self.offsets[id - 1] = self.out.len();
        self.out
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
    }

    fn finish(mut self, root: usize, info: usize) -> Vec<u8> {
        let xref = self.out.len();
        let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", self.offsets.len() + 1);
        for offset in &self.offsets {
            let _ = writeln!(table, "{offset:010} 00000 n ");
        }
        let _ = write!(
            table,
            "trailer\n<< /Size {} /Root {root} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len() + 1
        );
        self.out.extend_from_slice(table.as_bytes());
        self.out
    }
}

/// A number as PDF writes it: at most two decimals, no trailing zeros.
pub(crate) fn num(v: f32) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A text string for the document information dictionary: UTF-16BE with a BOM, in hex.
fn text_string(s: &str) -> String {
    let mut hex = String::from("<FEFF");
    for unit in s.encode_utf16() {
        let _ = write!(hex, "{unit:04X}");
    }
    hex.push('>');
    hex
}

/// A six-letter subset tag derived from the glyphs kept, so different
/// subsets of one font in different files get different names.
fn subset_tag(used: &Used) -> String {
    let mut h: u32 = 2_166_136_261;
    for g in used.unicode.keys() {
        h = (h ^ u32::from(*g)).wrapping_mul(16_777_619);
    }
    (0..6)
        .map(|i| char::from(b'A' + ((h >> (i * 5)) % 26) as u8))
        .collect()
}

fn to_unicode_cmap(used: &Used) -> String {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = used.unicode.iter().collect();
    for chunk in entries.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for (glyph, c) in chunk {
            let mut units = [0u16; 2];
            let hex: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            let _ = writeln!(cmap, "<{glyph:04X}> <{hex}>");
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap
}

/// A font cut down to the glyphs a file uses, with what its PDF objects need.
pub(crate) struct SubsetFont {
    /// The font's name in the file: a subset tag, `+`, the font's name.
    pub name: String,
    /// The advance of each glyph, by new glyph id, in thousandths of the font size.
    pub widths: Vec<f32>,
    pub bbox: [f32; 4],
    pub ascent: f32,
    pub descent: f32,
    pub cap_height: f32,
    pub stem_v: i64,
    /// The subset TrueType file.
    pub file: Vec<u8>,
    /// The ToUnicode CMap.
    pub to_unicode: String,
}

pub(crate) fn subset_font(font: &Font, used: &Used) -> Result<SubsetFont, Error> {
    let file = subsetter::subset(font.data, 0, &used.remapper)
        .map_err(|e| Error::Font(format!("{}: {e}", font.name)))?;
    Ok(SubsetFont {
        name: format!("{}+{}", subset_tag(used), font.name),
        // The remapper lists the original glyphs in the order of their new ids.
        widths: used
            .remapper
            .remapped_gids()
            .map(|original| font.advance(original))
            .collect(),
        bbox: font.bbox(),
        ascent: font.ascent(),
        descent: font.descent(),
        cap_height: font.cap_height(),
        stem_v: if font.name.contains("Bold") { 120 } else { 80 },
        file,
        to_unicode: to_unicode_cmap(used),
    })
}

/// Writes the font's five objects and returns the Type0 font's number.
fn write_font(w: &mut Writer, font: &Font, used: &Used) -> Result<usize, Error> {
    let sub = subset_font(font, used)?;
    let (type0, cid, descriptor, file, cmap) = (
        w.reserve(),
        w.reserve(),
        w.reserve(),
        w.reserve(),
        w.reserve(),
    );
    let name = &sub.name;
    w.object(
        type0,
        &format!(
            "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H /DescendantFonts [{cid} 0 R] /ToUnicode {cmap} 0 R >>"
        ),
    );
    let mut widths = String::new();
    for (new_id, width) in sub.widths.iter().enumerate() {
        let _ = write!(widths, "{new_id} [{}] ", num(*width));
    }
    w.object(
        cid,
        &format!(
            "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} \
             /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
             /FontDescriptor {descriptor} 0 R /CIDToGIDMap /Identity /DW 1000 /W [{widths}] >>"
        ),
    );
    let [x0, y0, x1, y1] = sub.bbox;
    w.object(
        descriptor,
        &format!(
            "<< /Type /FontDescriptor /FontName /{name} /Flags 32 /FontBBox [{} {} {} {}] /ItalicAngle 0 \
             /Ascent {} /Descent {} /CapHeight {} /StemV {} /FontFile2 {file} 0 R >>",
            num(x0),
            num(y0),
            num(x1),
            num(y1),
            num(sub.ascent),
            num(sub.descent),
            num(sub.cap_height),
            sub.stem_v
        ),
    );
    w.stream(file, &format!("/Length1 {}", sub.file.len()), &sub.file);
    w.stream(cmap, "", sub.to_unicode.as_bytes());
    Ok(type0)
}

pub(crate) fn write(title: &str, pages: &[Page], fonts: &Fonts) -> Result<Vec<u8>, Error> {
    let mut regular = Used::new();
    let mut bold = Used::new();
    // Content streams are built first: they decide which glyphs the subsets keep.
    let mut contents = Vec::with_capacity(pages.len());
    for page in pages {
        let mut ops = String::new();
        for rule in &page.rules {
            let _ = writeln!(
                ops,
                "0.75 G 0.6 w {} {} m {} {} l S",
                num(rule.x1),
                num(rule.y),
                num(rule.x2),
                num(rule.y)
            );
        }
        for r in &page.rects {
            let (cr, cg, cb) = (
                f32::from(r.colour.0) / 255.0,
                f32::from(r.colour.1) / 255.0,
                f32::from(r.colour.2) / 255.0,
            );
            match r.stroke {
                Some(width) => {
                    let _ = writeln!(
                        ops,
                        "{} {} {} RG {} w {} {} {} {} re S",
                        num(cr),
                        num(cg),
                        num(cb),
                        num(width),
                        num(r.x),
                        num(r.y),
                        num(r.w),
                        num(r.h)
                    );
                }
                None => {
                    let _ = writeln!(
                        ops,
                        "{} {} {} rg {} {} {} {} re f",
                        num(cr),
                        num(cg),
                        num(cb),
                        num(r.x),
                        num(r.y),
                        num(r.w),
                        num(r.h)
                    );
                }
            }
        }
        for run in &page.runs {
            let (used, resource, font) = match run.style {
                Style::Regular => (&mut regular, "F1", &fonts.regular),
                Style::Bold => (&mut bold, "F2", &fonts.bold),
            };
            let glyphs: String = run
                .text
                .chars()
                .map(|c| format!("{:04X}", used.add(font, c)))
                .collect();
            let fill = match run.colour {
                Some(c) => format!(
                    "{} {} {} rg",
                    num(f32::from(c.0) / 255.0),
                    num(f32::from(c.1) / 255.0),
                    num(f32::from(c.2) / 255.0)
                ),
                None if run.grey => "0.38 g".to_string(),
                None => "0.1 g".to_string(),
            };
            let _ = writeln!(
                ops,
                "BT {fill} /{resource} {} Tf 1 0 0 1 {} {} Tm <{glyphs}> Tj ET",
                num(run.size),
                num(run.x),
                num(run.y)
            );
        }
        contents.push(ops);
    }

    let mut w = Writer::new();
    let (catalog, page_tree, info) = (w.reserve(), w.reserve(), w.reserve());
    let f1 = write_font(&mut w, &fonts.regular, &regular)?;
    let f2 = write_font(&mut w, &fonts.bold, &bold)?;
    let mut kids = Vec::with_capacity(pages.len());
    for ops in &contents {
        let (page, content) = (w.reserve(), w.reserve());
        w.stream(content, "", ops.as_bytes());
        w.object(
            page,
            &format!(
                "<< /Type /Page /Parent {page_tree} 0 R /MediaBox [0 0 {} {}] \
                 /Resources << /Font << /F1 {f1} 0 R /F2 {f2} 0 R >> >> /Contents {content} 0 R >>",
                num(PAGE_WIDTH),
                num(PAGE_HEIGHT)
            ),
        );
        kids.push(format!("{page} 0 R"));
    }
    w.object(
        page_tree,
        &format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            kids.len()
        ),
    );
    w.object(
        catalog,
        &format!("<< /Type /Catalog /Pages {page_tree} 0 R >>"),
    );
    w.object(
        info,
        &format!("<< /Title {} /Producer (Tabys) >>", text_string(title)),
    );
    Ok(w.finish(catalog, info))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_exact_enough() {
        assert_eq!(num(10.0), "10");
        assert_eq!(num(595.28), "595.28");
        assert_eq!(num(0.5), "0.5");
    }

    #[test]
    fn titles_are_utf16_with_a_byte_order_mark() {
        assert_eq!(text_string("Ә"), "<FEFF04D8>");
    }
}
