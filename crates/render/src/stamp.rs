//! Marks a copy of a course's material with the person it was given to:
//! a light, semi-transparent line of text ("Name · e-mail · date") along the
//! bottom edge and once more, larger and fainter, across the middle. A
//! leaked copy then says whose it was (LZ-8).
//!
//! PDFs keep every page's own content untouched: each page gets two extra
//! content streams (one saving the graphics state before the page's content,
//! one restoring it and drawing the mark), the mark's font (DejaVu Sans,
//! only the glyphs the mark uses, with a ToUnicode map so the text can be
//! extracted) and two transparency states. The mark is placed on the page as
//! it is shown, whatever its `/Rotate` and crop box. Pictures get the same
//! text drawn into their pixels.
//!
//! Both are pure functions over bytes. What the mark says is the caller's.

use std::fmt;
use std::io::Cursor;

use ab_glyph::{Font as _, ScaleFont as _};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

use crate::layout::{Font, Fonts};
use crate::pdf::{Used, num, subset_font};

/// Why a file could not be marked. None of these may be served unmarked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StampError {
    /// Not a PDF or picture this module can read: damaged or of another kind.
    Unreadable,
    /// A PDF protected with a password (or restrictions) cannot be changed.
    Encrypted,
    /// A picture with more pixels than [`MAX_PIXELS`].
    TooLarge,
    /// The embedded font could not be read; a bug, not bad input.
    Font(String),
}

impl fmt::Display for StampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable => f.write_str("the file cannot be read"),
            Self::Encrypted => f.write_str("the PDF is encrypted"),
            Self::TooLarge => f.write_str("the picture is too large"),
            Self::Font(cause) => write!(f, "font error: {cause}"),
        }
    }
}

impl std::error::Error for StampError {}

impl From<crate::Error> for StampError {
    fn from(e: crate::Error) -> Self {
        Self::Font(e.to_string())
    }
}

/// The largest picture marked: 40 megapixels (a 7,700 × 5,200 photo).
pub const MAX_PIXELS: u64 = 40_000_000;

/// How far the page tree is followed up for inherited attributes.
const MAX_DEPTH: usize = 64;

/// Names under which the mark's resources are added to a page.
const FONT: &str = "TabysMarkF";
const EDGE_STATE: &str = "TabysMarkEdge";
const ACROSS_STATE: &str = "TabysMarkAcross";

/// The PDF with `mark` on every page.
pub fn pdf(bytes: &[u8], mark: &str) -> Result<Vec<u8>, StampError> {
    let mut doc = match Document::load_mem(bytes) {
        Ok(doc) => doc,
        // An encrypted file may fail to load at all; say why.
        Err(_) if contains(bytes, b"/Encrypt") => return Err(StampError::Encrypted),
        Err(_) => return Err(StampError::Unreadable),
    };
    if doc.trailer.has(b"Encrypt") || doc.was_encrypted() {
        return Err(StampError::Encrypted);
    }
    let pages: Vec<ObjectId> = doc.page_iter().collect();
    if pages.is_empty() {
        return Err(StampError::Unreadable);
    }

    let fonts = Fonts::load()?;
    let font = &fonts.regular;
    let mut used = Used::new();
    let glyphs: String = mark
        .chars()
        .map(|c| format!("{:04X}", used.add(font, c)))
        .collect();
    // Width of the mark at size 1, in points.
    let unit_width = font.width(mark, 1.0).max(1.0);
    let font_id = add_font(&mut doc, font, &used)?;
    let edge_state = doc.add_object(transparency(0.55));
    let across_state = doc.add_object(transparency(0.16));
    let save_state = doc.add_object(flate_stream(b"q\n"));

    for page in pages {
        let geometry = Geometry::of(&doc, page);
        let mut resources = resources_of(&doc, page);
        let font_name = add_resource(&doc, &mut resources, b"Font", FONT, font_id);
        let edge_name = add_resource(&doc, &mut resources, b"ExtGState", EDGE_STATE, edge_state);
        let across_name = add_resource(
            &doc,
            &mut resources,
            b"ExtGState",
            ACROSS_STATE,
            across_state,
        );
        let ops = geometry.mark_ops(&glyphs, unit_width, &font_name, &edge_name, &across_name);
        let mark_stream = doc.add_object(flate_stream(ops.as_bytes()));
        let mut contents = vec![Object::Reference(save_state)];
        contents.extend(contents_of(&doc, page));
        contents.push(Object::Reference(mark_stream));
        let dict = doc
            .get_object_mut(page)
            .and_then(Object::as_dict_mut)
            .map_err(|_| StampError::Unreadable)?;
        dict.set("Resources", resources);
        dict.set("Contents", contents);
    }

    let mut out = Vec::with_capacity(bytes.len() + 64 * 1024);
    doc.save_to(&mut out).map_err(|_| StampError::Unreadable)?;
    Ok(out)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn flate_stream(data: &[u8]) -> Stream {
    let packed = miniz_oxide::deflate::compress_to_vec_zlib(data, 6);
    let mut dict = Dictionary::new();
    dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
    Stream::new(dict, packed).with_compression(false)
}

fn transparency(alpha: f32) -> Object {
    let mut d = Dictionary::new();
    d.set("Type", Object::Name(b"ExtGState".to_vec()));
    d.set("ca", Object::Real(alpha));
    d.set("CA", Object::Real(alpha));
    Object::Dictionary(d)
}

fn name(s: &str) -> Object {
    Object::Name(s.as_bytes().to_vec())
}

/// Adds the subset font as a Type0 font over a CIDFontType2, as the
/// documents of this crate embed theirs; returns the Type0 font's id.
fn add_font(doc: &mut Document, font: &Font, used: &Used) -> Result<ObjectId, StampError> {
    let sub = subset_font(font, used)?;
    let mut file = flate_stream(&sub.file);
    file.dict
        .set("Length1", Object::Integer(sub.file.len() as i64));
    let file = doc.add_object(file);
    let to_unicode = doc.add_object(flate_stream(sub.to_unicode.as_bytes()));

    let real = |v: f32| Object::Real((v * 100.0).round() / 100.0);
    let mut descriptor = Dictionary::new();
    descriptor.set("Type", name("FontDescriptor"));
    descriptor.set("FontName", name(&sub.name));
    descriptor.set("Flags", Object::Integer(32));
    descriptor.set(
        "FontBBox",
        Object::Array(sub.bbox.iter().map(|v| real(*v)).collect()),
    );
    descriptor.set("ItalicAngle", Object::Integer(0));
    descriptor.set("Ascent", real(sub.ascent));
    descriptor.set("Descent", real(sub.descent));
    descriptor.set("CapHeight", real(sub.cap_height));
    descriptor.set("StemV", Object::Integer(sub.stem_v));
    descriptor.set("FontFile2", Object::Reference(file));
    let descriptor = doc.add_object(Object::Dictionary(descriptor));

    let mut widths = Vec::with_capacity(sub.widths.len() * 2);
    for (id, width) in sub.widths.iter().enumerate() {
        widths.push(Object::Integer(id as i64));
        widths.push(Object::Array(vec![real(*width)]));
    }
    let mut system = Dictionary::new();
    system.set("Registry", Object::string_literal("Adobe"));
    system.set("Ordering", Object::string_literal("Identity"));
    system.set("Supplement", Object::Integer(0));
    let mut cid = Dictionary::new();
    cid.set("Type", name("Font"));
    cid.set("Subtype", name("CIDFontType2"));
    cid.set("BaseFont", name(&sub.name));
    cid.set("CIDSystemInfo", Object::Dictionary(system));
    cid.set("FontDescriptor", Object::Reference(descriptor));
    cid.set("CIDToGIDMap", name("Identity"));
    cid.set("DW", Object::Integer(1000));
    cid.set("W", Object::Array(widths));
    let cid = doc.add_object(Object::Dictionary(cid));

    let mut type0 = Dictionary::new();
    type0.set("Type", name("Font"));
    type0.set("Subtype", name("Type0"));
    type0.set("BaseFont", name(&sub.name));
    type0.set("Encoding", name("Identity-H"));
    type0.set(
        "DescendantFonts",
        Object::Array(vec![Object::Reference(cid)]),
    );
    type0.set("ToUnicode", Object::Reference(to_unicode));
    Ok(doc.add_object(Object::Dictionary(type0)))
}

/// Follows references to the object itself.
fn resolve<'a>(doc: &'a Document, object: &'a Object) -> Option<&'a Object> {
    doc.dereference(object).ok().map(|(_, o)| o)
}

/// An attribute of the page, or inherited from the page tree above it
/// (`Resources`, `MediaBox`, `CropBox`, `Rotate`).
fn inherited<'a>(doc: &'a Document, page: ObjectId, key: &[u8]) -> Option<&'a Object> {
    let mut node = doc.get_dictionary(page).ok()?;
    for _ in 0..MAX_DEPTH {
        if let Ok(value) = node.get(key) {
            return resolve(doc, value);
        }
        let parent = node.get(b"Parent").ok()?.as_reference().ok()?;
        node = doc.get_dictionary(parent).ok()?;
    }
    None
}

/// A copy of the page's resources (its own or inherited), to be given to
/// the page with the mark's added; other pages sharing them keep theirs.
fn resources_of(doc: &Document, page: ObjectId) -> Dictionary {
    inherited(doc, page, b"Resources")
        .and_then(|o| o.as_dict().ok())
        .cloned()
        .unwrap_or_default()
}

/// Adds `id` under a name not yet taken in the resources' `category`
/// sub-dictionary (copied if it was shared); returns the name used.
fn add_resource(
    doc: &Document,
    resources: &mut Dictionary,
    category: &[u8],
    wanted: &str,
    id: ObjectId,
) -> String {
    let mut sub = resources
        .get(category)
        .ok()
        .and_then(|o| resolve(doc, o))
        .and_then(|o| o.as_dict().ok())
        .cloned()
        .unwrap_or_default();
    let mut chosen = wanted.to_string();
    let mut n = 1;
    while sub.has(chosen.as_bytes()) {
        chosen = format!("{wanted}{n}");
        n += 1;
    }
    sub.set(chosen.as_bytes().to_vec(), Object::Reference(id));
    resources.set(category.to_vec(), Object::Dictionary(sub));
    chosen
}

/// The page's content streams, in order, as references.
fn contents_of(doc: &Document, page: ObjectId) -> Vec<Object> {
    let Ok(dict) = doc.get_dictionary(page) else {
        return Vec::new();
    };
    let Ok(contents) = dict.get(b"Contents") else {
        return Vec::new();
    };
    match contents {
        Object::Reference(id) => match doc.get_object(*id) {
            // An indirect array of streams.
            Ok(Object::Array(items)) => items.clone(),
            _ => vec![Object::Reference(*id)],
        },
        Object::Array(items) => items.clone(),
        _ => Vec::new(),
    }
}

/// How a page is shown: its visible box and its rotation.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Geometry {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
    /// Clockwise quarter turns: 0..=3.
    quarter_turns: u8,
}

impl Geometry {
    fn of(doc: &Document, page: ObjectId) -> Self {
        let rect = |key: &[u8]| -> Option<[f32; 4]> {
            let items = inherited(doc, page, key)?.as_array().ok()?;
            let mut v = [0.0f32; 4];
            if items.len() != 4 {
                return None;
            }
            for (slot, item) in v.iter_mut().zip(items) {
                *slot = resolve(doc, item)?.as_float().ok()?;
            }
            Some(v)
        };
        // US Letter, as readers assume for a page without a box.
        let [ax, ay, bx, by] = rect(b"CropBox")
            .or_else(|| rect(b"MediaBox"))
            .unwrap_or([0.0, 0.0, 612.0, 792.0]);
        let rotate = inherited(doc, page, b"Rotate")
            .and_then(|o| o.as_i64().ok())
            .unwrap_or(0);
        Self {
            x0: ax.min(bx),
            y0: ay.min(by),
            x1: ax.max(bx),
            y1: ay.max(by),
            quarter_turns: u8::try_from((rotate / 90).rem_euclid(4)).unwrap_or(0),
        }
    }

    /// Width and height as the page is shown.
    fn shown(&self) -> (f32, f32) {
        let (w, h) = (self.x1 - self.x0, self.y1 - self.y0);
        if self.quarter_turns % 2 == 1 {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// The matrix from the shown page (origin bottom left, as the reader
    /// sees it) to the page's own coordinates.
    fn matrix(&self) -> [f32; 6] {
        let Self { x0, y0, x1, y1, .. } = *self;
        match self.quarter_turns {
            1 => [0.0, 1.0, -1.0, 0.0, x1, y0],
            2 => [-1.0, 0.0, 0.0, -1.0, x1, y1],
            3 => [0.0, -1.0, 1.0, 0.0, x0, y1],
            _ => [1.0, 0.0, 0.0, 1.0, x0, y0],
        }
    }

    /// The operators drawing the mark: restore the state the page's content
    /// left, then draw along the bottom edge and across the middle.
    fn mark_ops(
        &self,
        glyphs: &str,
        unit_width: f32,
        font: &str,
        edge: &str,
        across: &str,
    ) -> String {
        let (w, h) = self.shown();
        let m = self.matrix().map(num).join(" ");
        let edge_size = (0.9 * w / unit_width).clamp(1.0, 8.0);
        let edge_x = (w - unit_width * edge_size) / 2.0;
        let edge_y = (h * 0.012).max(edge_size * 0.6);
        let diagonal = w.hypot(h);
        let across_size = (0.7 * diagonal / unit_width).clamp(1.0, h.min(w) * 0.09);
        let (sin, cos) = h.atan2(w).sin_cos();
        let half = unit_width * across_size / 2.0;
        let rise = across_size * 0.35;
        let tx = w / 2.0 - cos * half + sin * rise;
        let ty = h / 2.0 - sin * half - cos * rise;
        format!(
            "Q q {m} cm\n\
             /{edge} gs BT 0.35 g /{font} {} Tf 1 0 0 1 {} {} Tm <{glyphs}> Tj ET\n\
             /{across} gs BT 0.4 g /{font} {} Tf {} {} {} {} {} {} Tm <{glyphs}> Tj ET\nQ\n",
            num(edge_size),
            num(edge_x),
            num(edge_y),
            num(across_size),
            num4(cos),
            num4(sin),
            num4(-sin),
            num4(cos),
            num(tx),
            num(ty)
        )
    }
}

/// A number with four decimals, for the sines and cosines of a matrix.
fn num4(v: f32) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// A marked picture and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    pub bytes: Vec<u8>,
    /// `image/png` or `image/jpeg`: a JPEG stays a JPEG, a PNG a PNG; GIF
    /// and WebP pictures become PNG (an animated GIF keeps its first frame).
    pub content_type: &'static str,
}

/// The picture (PNG, JPEG, GIF or WebP) with `mark` drawn into it.
pub fn image(bytes: &[u8], mark: &str) -> Result<Stamped, StampError> {
    use image::{ImageDecoder as _, ImageFormat, ImageReader};

    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| StampError::Unreadable)?;
    let format = reader.format().ok_or(StampError::Unreadable)?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
    ) {
        return Err(StampError::Unreadable);
    }
    let (w, h) = reader
        .into_dimensions()
        .map_err(|_| StampError::Unreadable)?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(StampError::TooLarge);
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    // 16-bit RGBA is the widest a decoder produces; allow one copy of that.
    limits.max_alloc = Some(MAX_PIXELS * 8 + 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|_| StampError::Unreadable)?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut picture =
        image::DynamicImage::from_decoder(decoder).map_err(|_| StampError::Unreadable)?;
    // The copy loses its metadata, so the turn a camera recorded is applied.
    picture.apply_orientation(orientation);
    let had_alpha = picture.color().has_alpha();
    let mut rgba = picture.into_rgba8();
    draw_mark(&mut rgba, mark)?;

    let mut out = Cursor::new(Vec::new());
    let written = if format == ImageFormat::Jpeg {
        let rgb = image::DynamicImage::ImageRgba8(rgba).into_rgb8();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&rgb)
    } else if had_alpha {
        rgba.write_to(&mut out, ImageFormat::Png)
    } else {
        image::DynamicImage::ImageRgba8(rgba)
            .into_rgb8()
            .write_to(&mut out, ImageFormat::Png)
    };
    written.map_err(|_| StampError::Unreadable)?;
    Ok(Stamped {
        bytes: out.into_inner(),
        content_type: if format == ImageFormat::Jpeg {
            "image/jpeg"
        } else {
            "image/png"
        },
    })
}

/// Coverage of a line of text, 0.0..=1.0 per pixel, row by row.
struct TextMask {
    width: usize,
    height: usize,
    coverage: Vec<f32>,
}

impl TextMask {
    fn new(font: &ab_glyph::FontRef<'_>, text: &str, px: f32) -> Self {
        let scaled = font.as_scaled(ab_glyph::PxScale::from(px));
        let ascent = scaled.ascent();
        let mut glyphs = Vec::new();
        let mut x = 0.0f32;
        let mut previous = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = previous {
                x += scaled.kern(p, id);
            }
            glyphs.push(id.with_scale_and_position(px, ab_glyph::point(x, ascent)));
            x += scaled.h_advance(id);
            previous = Some(id);
        }
        let width = x.ceil().max(1.0) as usize + 2;
        let height = (ascent - scaled.descent()).ceil().max(1.0) as usize + 2;
        let mut coverage = vec![0.0f32; width * height];
        for glyph in glyphs {
            let Some(outlined) = font.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, c| {
                let px = bounds.min.x as i64 + i64::from(gx);
                let py = bounds.min.y as i64 + i64::from(gy);
                if let (Ok(px), Ok(py)) = (usize::try_from(px), usize::try_from(py))
                    && px < width
                    && py < height
                {
                    let cell = &mut coverage[py * width + px];
                    *cell = (*cell + c).min(1.0);
                }
            });
        }
        Self {
            width,
            height,
            coverage,
        }
    }

    fn at(&self, x: f32, y: f32) -> f32 {
        if x < 0.0 || y < 0.0 {
            return 0.0;
        }
        let (x, y) = (x as usize, y as usize);
        if x >= self.width || y >= self.height {
            return 0.0;
        }
        self.coverage[y * self.width + x]
    }
}

/// Blends grey at `alpha` × coverage over the pixel ("over" compositing,
/// so the mark shows on transparent parts too).
fn blend(pixel: &mut image::Rgba<u8>, coverage: f32, alpha: f32, grey: f32) {
    let a = (coverage * alpha).clamp(0.0, 1.0);
    if a <= 0.0 {
        return;
    }
    let [r, g, b, pa] = pixel.0;
    let base_a = f32::from(pa) / 255.0;
    let out_a = a + base_a * (1.0 - a);
    let mix = |c: u8| {
        let c = f32::from(c) / 255.0;
        ((grey * a + c * base_a * (1.0 - a)) / out_a * 255.0).round() as u8
    };
    pixel.0 = [mix(r), mix(g), mix(b), (out_a * 255.0).round() as u8];
}

/// Draws the mark along the bottom edge and across the middle of the picture.
fn draw_mark(img: &mut image::RgbaImage, mark: &str) -> Result<(), StampError> {
    let font = ab_glyph::FontRef::try_from_slice(crate::REGULAR)
        .map_err(|e| StampError::Font(e.to_string()))?;
    let (w, h) = (img.width() as f32, img.height() as f32);

    // Along the bottom edge, as wide as fits.
    let mut px = (h * 0.025).clamp(10.0, 48.0);
    let mut edge = TextMask::new(&font, mark, px);
    if edge.width as f32 > w * 0.94 {
        px = (px * w * 0.94 / edge.width as f32).max(4.0);
        edge = TextMask::new(&font, mark, px);
    }
    let left = ((w - edge.width as f32) / 2.0).max(0.0);
    let top = (h - edge.height as f32 - (h * 0.01).max(2.0)).max(0.0);
    for my in 0..edge.height {
        for mx in 0..edge.width {
            let (x, y) = (left as u32 + mx as u32, top as u32 + my as u32);
            if x < img.width() && y < img.height() {
                let c = edge.coverage[my * edge.width + mx];
                blend(img.get_pixel_mut(x, y), c, 0.6, 0.45);
            }
        }
    }

    // Across the middle, along the diagonal, larger and fainter.
    let diagonal = w.hypot(h);
    let unit = TextMask::new(&font, mark, 20.0).width as f32 / 20.0;
    let px = (0.7 * diagonal / unit.max(0.1)).clamp(4.0, h.min(w) * 0.12);
    let across = TextMask::new(&font, mark, px.max(4.0));
    let angle = -h.atan2(w);
    let (sin, cos) = angle.sin_cos();
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (hw, hh) = (across.width as f32 / 2.0, across.height as f32 / 2.0);
    let reach = hw.hypot(hh);
    let (x_from, x_to) = ((cx - reach).max(0.0) as u32, (cx + reach).min(w) as u32);
    let (y_from, y_to) = ((cy - reach).max(0.0) as u32, (cy + reach).min(h) as u32);
    for y in y_from..y_to {
        for x in x_from..x_to {
            // Back from the picture into the unrotated text.
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let u = dx * cos + dy * sin + hw;
            let v = -dx * sin + dy * cos + hh;
            let c = across.at(u, v);
            if c > 0.0 {
                blend(img.get_pixel_mut(x, y), c, 0.22, 0.5);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(quarter_turns: u8) -> Geometry {
        Geometry {
            x0: 10.0,
            y0: 20.0,
            x1: 110.0,
            y1: 220.0,
            quarter_turns,
        }
    }

    fn apply(m: [f32; 6], (u, v): (f32, f32)) -> (f32, f32) {
        (m[0] * u + m[2] * v + m[4], m[1] * u + m[3] * v + m[5])
    }

    #[test]
    fn the_mark_sits_on_the_bottom_edge_of_a_page_as_it_is_shown() {
        // The shown page's bottom-left and bottom-right corners land where a
        // reader turning the page clockwise puts its bottom edge.
        let cases = [
            (0, (10.0, 20.0), (110.0, 20.0)),
            (1, (110.0, 20.0), (110.0, 220.0)),
            (2, (110.0, 220.0), (10.0, 220.0)),
            (3, (10.0, 220.0), (10.0, 20.0)),
        ];
        for (turns, bottom_left, bottom_right) in cases {
            let g = geometry(turns);
            let (w, _) = g.shown();
            assert_eq!(apply(g.matrix(), (0.0, 0.0)), bottom_left, "{turns}");
            assert_eq!(apply(g.matrix(), (w, 0.0)), bottom_right, "{turns}");
        }
        assert_eq!(geometry(1).shown(), (200.0, 100.0));
    }

    #[test]
    fn sines_are_written_short_and_without_negative_zero() {
        assert_eq!(num4(0.70710677), "0.7071");
        assert_eq!(num4(-0.0), "0");
        assert_eq!(num4(1.0), "1");
    }
}
