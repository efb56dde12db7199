//! `sensor_msgs/Image` in and out: the accepted encodings as lseg images (read in place), and
//! the output images (mask, colour, overlay, 32FC1 planes) with the input's header and size.

use lseg::{ImageView, PixelFormat};

use crate::msg::Image;

/// The lseg pixel format of a ROS encoding, or why it is not accepted.
pub fn pixel_format(encoding: &str) -> Result<PixelFormat, String> {
    Ok(match encoding {
        "rgb8" => PixelFormat::Rgb8,
        "bgr8" => PixelFormat::Bgr8,
        "rgba8" => PixelFormat::Rgba8,
        "bgra8" => PixelFormat::Bgra8,
        "mono8" => PixelFormat::Gray8,
        _ => {
            return Err(format!(
                "encoding \"{encoding}\" is not one of rgb8, bgr8, rgba8, bgra8, mono8"
            ));
        }
    })
}

/// The message's pixels as an lseg image, without a copy: its encoding, `step` and buffer
/// length checked by lseg's image rules.
pub fn view(msg: &Image) -> Result<ImageView<'_>, String> {
    let format = pixel_format(&msg.encoding)?;
    ImageView::new(
        &msg.data,
        msg.width as usize,
        msg.height as usize,
        msg.step as usize,
        format,
    )
    .map_err(|e| e.to_string())
}

/// An output image like `input` (header, size) of `encoding` with `bpp` bytes per pixel.
fn like(input: &Image, encoding: &str, bpp: usize, data: Vec<u8>) -> Image {
    Image {
        header: input.header.clone(),
        height: input.height,
        width: input.width,
        encoding: encoding.into(),
        is_bigendian: 0,
        step: input.width * bpp as u32,
        data,
    }
}

/// The label map as `mono8` (up to 255 labels) or little-endian `mono16`.
pub fn mask(input: &Image, map: &[u16], labels: usize) -> Image {
    if labels <= 255 {
        like(input, "mono8", 1, map.iter().map(|&l| l as u8).collect())
    } else {
        like(
            input,
            "mono16",
            2,
            map.iter().flat_map(|l| l.to_le_bytes()).collect(),
        )
    }
}

/// The label map in the palette's colours, `rgb8`.
pub fn color(input: &Image, map: &[u16], palette: &[[u8; 3]]) -> Image {
    let data = map
        .iter()
        .flat_map(|&l| palette.get(l as usize).copied().unwrap_or_default())
        .collect();
    like(input, "rgb8", 3, data)
}

/// The input blended with the label colours (`alpha` of colour), `rgb8`.
pub fn overlay(
    input: &Image,
    view: &ImageView,
    map: &[u16],
    palette: &[[u8; 3]],
    alpha: f32,
) -> Image {
    let (w, ch) = (view.width(), view.format().channels());
    let mut data = Vec::with_capacity(map.len() * 3);
    for y in 0..view.height() {
        let row = &view.data()[y * view.stride()..][..w * ch];
        for (x, p) in row.chunks_exact(ch).enumerate() {
            let rgb = match view.format() {
                PixelFormat::Rgb8 | PixelFormat::Rgba8 => [p[0], p[1], p[2]],
                PixelFormat::Bgr8 | PixelFormat::Bgra8 => [p[2], p[1], p[0]],
                PixelFormat::Gray8 => [p[0]; 3],
            };
            let c = palette
                .get(map[y * w + x] as usize)
                .copied()
                .unwrap_or_default();
            data.extend(lseg::palette::blend(rgb, c, alpha));
        }
    }
    like(input, "rgb8", 3, data)
}

/// One float plane (`width * height` values) as `32FC1`.
pub fn float_plane(input: &Image, plane: &[f32]) -> Image {
    like(
        input,
        "32FC1",
        4,
        plane.iter().flat_map(|v| v.to_le_bytes()).collect(),
    )
}

/// Label colours: the `palette` parameter's `#rrggbb` entries, then lseg's palette (an empty
/// entry keeps lseg's colour of that label).
pub fn palette(n: usize, colours: &[String]) -> Result<Vec<[u8; 3]>, String> {
    (0..n)
        .map(|i| match colours.get(i) {
            Some(c) if !c.is_empty() => parse_colour(c),
            _ => Ok(lseg::palette::colour(i)),
        })
        .collect()
}

fn parse_colour(c: &str) -> Result<[u8; 3], String> {
    let bad = || format!("palette colour \"{c}\" is not #rrggbb");
    let hex = c
        .strip_prefix('#')
        .filter(|h| h.len() == 6)
        .ok_or_else(bad)?;
    let mut rgb = [0u8; 3];
    for (k, v) in rgb.iter_mut().enumerate() {
        *v = u8::from_str_radix(hex.get(2 * k..2 * k + 2).ok_or_else(bad)?, 16)
            .map_err(|_| bad())?;
    }
    Ok(rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(encoding: &str, w: u32, h: u32, step: u32, data: Vec<u8>) -> Image {
        Image {
            encoding: encoding.into(),
            width: w,
            height: h,
            step,
            data,
            ..Default::default()
        }
    }

    #[test]
    fn encodings_and_bad_frames() {
        for e in ["rgb8", "bgr8", "rgba8", "bgra8", "mono8"] {
            assert!(pixel_format(e).is_ok());
        }
        let e = view(&image("16UC1", 2, 2, 4, vec![0; 8])).unwrap_err();
        assert!(e.contains("16UC1"), "{e}");
        let e = view(&image("rgb8", 4, 2, 5, vec![0; 24])).unwrap_err();
        assert!(e.contains("stride"), "{e}");
        let e = view(&image("rgb8", 4, 2, 12, vec![0; 20])).unwrap_err();
        assert!(e.contains("buffer"), "{e}");
        let padded = image("rgb8", 4, 2, 14, vec![0; 26]);
        let v = view(&padded).unwrap();
        assert_eq!(v.stride(), 14);
    }

    #[test]
    fn masks_colours_overlays() {
        let input = image("bgr8", 2, 1, 6, vec![10, 20, 30, 0, 0, 255]);
        let m = mask(&input, &[1, 0], 2);
        assert_eq!(
            (m.encoding.as_str(), m.step, m.data.clone()),
            ("mono8", 2, vec![1, 0])
        );
        let m = mask(&input, &[300, 2], 301);
        assert_eq!((m.encoding.as_str(), m.data), ("mono16", vec![44, 1, 2, 0]));
        let pal = palette(2, &["#ff0000".into()]).unwrap();
        assert_eq!(pal, vec![[255, 0, 0], lseg::palette::colour(1)]);
        assert_eq!(color(&input, &[0, 1], &pal).data[..3], [255, 0, 0]);
        let v = view(&input).unwrap();
        let o = overlay(&input, &v, &[0, 0], &pal, 0.0);
        assert_eq!(o.data, vec![30, 20, 10, 255, 0, 0]); // BGR read as RGB
        let o = overlay(&input, &v, &[0, 0], &pal, 1.0);
        assert_eq!(o.data, vec![255, 0, 0, 255, 0, 0]);
        assert!(palette(1, &["red".into()]).unwrap_err().contains("#rrggbb"));
        assert_eq!(
            palette(1, &["".into()]).unwrap(),
            vec![lseg::palette::colour(0)]
        );
        assert!(palette(1, &["#gg0000".into()]).is_err());
        let f = float_plane(&input, &[1.0, -2.5]);
        assert_eq!((f.encoding.as_str(), f.step, f.data.len()), ("32FC1", 8, 8));
    }
}
