//! Pictures: colour label maps, overlays and a legend drawn with an 8x8 bitmap font.

use font8x8::UnicodeFonts;
use image::RgbImage;

/// Kelly's colours of maximum contrast (without white and black), then generated hues.
const KELLY: [[u8; 3]; 20] = [
    [0xF3, 0xC3, 0x00],
    [0x87, 0x56, 0x92],
    [0xF3, 0x84, 0x00],
    [0xA1, 0xCA, 0xF1],
    [0xBE, 0x00, 0x32],
    [0xC2, 0xB2, 0x80],
    [0x84, 0x84, 0x82],
    [0x00, 0x88, 0x56],
    [0xE6, 0x8F, 0xAC],
    [0x00, 0x67, 0xA5],
    [0xF9, 0x93, 0x79],
    [0x60, 0x4E, 0x97],
    [0xF6, 0xA6, 0x00],
    [0xB3, 0x44, 0x6C],
    [0xDC, 0xD3, 0x00],
    [0x88, 0x2D, 0x17],
    [0x8D, 0xB6, 0x00],
    [0x65, 0x45, 0x22],
    [0xE2, 0x58, 0x22],
    [0x2B, 0x3D, 0x26],
];

/// The colour of label `i`: a fixed, high-contrast palette, stable across runs.
pub fn colour(i: usize) -> [u8; 3] {
    if let Some(c) = KELLY.get(i) {
        return *c;
    }
    // Golden-angle hues, alternating brightness.
    let h = (i as f32 * 0.618_034).fract() * 6.0;
    let v = if i.is_multiple_of(2) { 0.95 } else { 0.7 };
    let c = 0.75 * v; // saturation 0.75
    let x = c * (1.0 - ((h % 2.0) - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [r, g, b].map(|u| ((u + m) * 255.0).round() as u8)
}

/// The colour label picture of a label map.
pub fn label_image(map: &[u16], width: u32, height: u32) -> RgbImage {
    let mut img = RgbImage::new(width, height);
    for (p, &l) in img.pixels_mut().zip(map) {
        p.0 = colour(l as usize);
    }
    img
}

/// The image blended with the label colours (`alpha` of colour), with a legend.
pub fn overlay(
    image: &RgbImage,
    map: &[u16],
    alpha: f32,
    labels: &[String],
    shares: &[f64],
) -> RgbImage {
    let mut out = image.clone();
    for (p, &l) in out.pixels_mut().zip(map) {
        blend(&mut p.0, colour(l as usize), alpha);
    }
    draw_legend(&mut out, labels, shares);
    out
}

/// `p = (1 - a) p + a c`.
fn blend(p: &mut [u8; 3], c: [u8; 3], a: f32) {
    for (v, c) in p.iter_mut().zip(c) {
        *v = (*v as f32 * (1.0 - a) + c as f32 * a).round() as u8;
    }
}

fn blend_rect(img: &mut RgbImage, x0: u32, y0: u32, w: u32, h: u32, c: [u8; 3], a: f32) {
    let (iw, ih) = img.dimensions();
    for y in y0..(y0 + h).min(ih) {
        for x in x0..(x0 + w).min(iw) {
            blend(&mut img.get_pixel_mut(x, y).0, c, a);
        }
    }
}

fn glyph(ch: char) -> [u8; 8] {
    font8x8::BASIC_FONTS
        .get(ch)
        .or_else(|| font8x8::LATIN_FONTS.get(ch))
        .or_else(|| font8x8::GREEK_FONTS.get(ch))
        .or_else(|| font8x8::BASIC_FONTS.get('?'))
        .unwrap_or([0; 8])
}

fn draw_text(img: &mut RgbImage, x0: u32, y0: u32, text: &str, scale: u32, c: [u8; 3]) {
    let (iw, ih) = img.dimensions();
    for (i, ch) in text.chars().enumerate() {
        let rows = glyph(ch);
        for (gy, bits) in rows.iter().enumerate() {
            for gx in 0..8u32 {
                if bits >> gx & 1 == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let x = x0 + (i as u32 * 8 + gx) * scale + dx;
                        let y = y0 + gy as u32 * scale + dy;
                        if x < iw && y < ih {
                            img.put_pixel(x, y, image::Rgb(c));
                        }
                    }
                }
            }
        }
    }
}

/// A legend in the top-left corner: a coloured square, the label and its pixel share per row.
/// Long labels are shortened to fit the image; rows that do not fit are summarised.
fn draw_legend(img: &mut RgbImage, labels: &[String], shares: &[f64]) {
    let (w, h) = img.dimensions();
    let s = (w.min(h) / 180).clamp(1, 4);
    let (pad, row, sq, margin) = (3 * s, 11 * s, 8 * s, 4 * s);
    let cell = 8 * s;
    let avail_w = w.saturating_sub(2 * margin + 3 * pad + sq);
    let max_chars = (avail_w / cell) as usize;
    let avail_rows = (h.saturating_sub(2 * margin + 2 * pad) / row) as usize;
    if max_chars < 8 || avail_rows == 0 {
        return;
    }
    // "label  12.3%": the label column is shortened (marked `~`) where the image is narrow.
    let wl = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(max_chars.saturating_sub(7).max(1));
    let fit = |l: &str| -> String {
        if l.chars().count() > wl {
            l.chars().take(wl.saturating_sub(1)).collect::<String>() + "~"
        } else {
            l.to_string()
        }
    };
    let mut rows: Vec<(Option<usize>, String)> = labels
        .iter()
        .zip(shares)
        .enumerate()
        .map(|(i, (l, p))| (Some(i), format!("{:<wl$} {p:>5.1}%", fit(l))))
        .collect();
    if rows.len() > avail_rows {
        let more = rows.len() - (avail_rows - 1);
        rows.truncate(avail_rows - 1);
        rows.push((None, format!("+{more} more")));
    }
    let chars = rows
        .iter()
        .map(|(_, t)| t.chars().count())
        .max()
        .unwrap_or(0) as u32;
    let bw = pad + sq + pad + chars * cell + pad;
    let bh = pad + rows.len() as u32 * row - (row - cell) + pad;
    blend_rect(img, margin, margin, bw, bh, [0, 0, 0], 0.65);
    for (r, (label, text)) in rows.iter().enumerate() {
        let y = margin + pad + r as u32 * row;
        let x = margin + pad;
        if let Some(i) = label {
            blend_rect(img, x, y, sq, sq, [255, 255, 255], 1.0);
            let b = s.min(2);
            blend_rect(img, x + b, y + b, sq - 2 * b, sq - 2 * b, colour(*i), 1.0);
        }
        draw_text(img, x + sq + pad, y, text, s, [255, 255, 255]);
    }
}
