//! Pictures: colour label maps, overlays and a legend drawn with an 8x8 bitmap font.

use font8x8::UnicodeFonts;
use image::RgbImage;
use lseg::palette::{blend, colour};

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
        p.0 = blend(p.0, colour(l as usize), alpha);
    }
    draw_legend(&mut out, labels, shares);
    out
}

fn blend_rect(img: &mut RgbImage, x0: u32, y0: u32, w: u32, h: u32, c: [u8; 3], a: f32) {
    let (iw, ih) = img.dimensions();
    for y in y0..(y0 + h).min(ih) {
        for x in x0..(x0 + w).min(iw) {
            let p = img.get_pixel_mut(x, y);
            p.0 = blend(p.0, c, a);
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
