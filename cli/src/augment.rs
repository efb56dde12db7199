//! The official training augmentation (PyTorch-Encoding's `_sync_transform`, used by the
//! official `train_lseg.py`) on an image and its class mask, from a seeded generator: random
//! horizontal flip, random rescale of the long side to 0.5-2.0 x the base size (bilinear for
//! the image, nearest for the mask), padding to the crop size (black pixels, unlabelled mask),
//! a random crop. Then the official normalisation, `(v / 255 - 0.5) / 0.5`.

use image::imageops::{FilterType, crop_imm, flip_horizontal, resize};
use image::{ImageBuffer, Luma, RgbImage};
use lseg::metrics::IGNORE;
use rand::Rng;

/// Sizes of the augmentation.
#[derive(Debug, Clone, Copy)]
pub struct Augment {
    /// Long side at scale 1 (official ADE20K: 520).
    pub base_size: u32,
    /// Square crop side (official ADE20K: 480).
    pub crop_size: u32,
    /// Random flip, scale and crop; without it the image and mask are resized to the crop.
    pub random: bool,
}

type Mask = ImageBuffer<Luma<u16>, Vec<u16>>;

impl Augment {
    /// One crop: normalised `[3, crop, crop]` values and `[crop, crop]` classes.
    pub fn apply(&self, img: RgbImage, mask: Vec<u16>, rng: &mut impl Rng) -> (Vec<f32>, Vec<u16>) {
        let (w, h) = img.dimensions();
        let mask = Mask::from_raw(w, h, mask).expect("mask of the image's size");
        let c = self.crop_size;
        let (img, mask) = if self.random {
            self.random_crop(img, mask, rng)
        } else {
            (
                resize(&img, c, c, FilterType::Triangle),
                resize(&mask, c, c, FilterType::Nearest),
            )
        };
        let n = (c * c) as usize;
        let mut values = vec![0f32; 3 * n];
        for (i, p) in img.pixels().enumerate() {
            for ch in 0..3 {
                values[ch * n + i] = (p[ch] as f32 / 255.0 - 0.5) / 0.5;
            }
        }
        (values, mask.into_raw())
    }

    fn random_crop(&self, img: RgbImage, mask: Mask, rng: &mut impl Rng) -> (RgbImage, Mask) {
        let (img, mask) = if rng.random::<f64>() < 0.5 {
            (flip_horizontal(&img), flip_horizontal(&mask))
        } else {
            (img, mask)
        };
        let (w, h) = img.dimensions();
        let long = rng
            .random_range(self.base_size / 2..=self.base_size * 2)
            .max(1);
        let scaled = |side: u32, other: u32| {
            ((side as f64 * long as f64 / other as f64 + 0.5) as u32).max(1)
        };
        let (ow, oh) = if h > w {
            (scaled(w, h), long)
        } else {
            (long, scaled(h, w))
        };
        let img = resize(&img, ow, oh, FilterType::Triangle);
        let mask = resize(&mask, ow, oh, FilterType::Nearest);
        let c = self.crop_size;
        let (pw, ph) = (ow.max(c), oh.max(c));
        let (img, mask) = if (pw, ph) != (ow, oh) {
            let mut padded = RgbImage::new(pw, ph);
            image::imageops::replace(&mut padded, &img, 0, 0);
            let mut pmask = Mask::from_pixel(pw, ph, Luma([IGNORE]));
            image::imageops::replace(&mut pmask, &mask, 0, 0);
            (padded, pmask)
        } else {
            (img, mask)
        };
        let x = rng.random_range(0..=pw - c);
        let y = rng.random_range(0..=ph - c);
        (
            crop_imm(&img, x, y, c, c).to_image(),
            crop_imm(&mask, x, y, c, c).to_image(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn crops_keep_image_and_mask_aligned() {
        // Every pixel's colour encodes its class, so any misalignment shows.
        let (w, h) = (50u32, 30u32);
        let class = |x: u32, y: u32| ((x / 10 + y / 10) % 3) as u16;
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([class(x, y) as u8 * 100, 0, 0]));
        let mask: Vec<u16> = (0..h)
            .flat_map(|y| (0..w).map(move |x| class(x, y)))
            .collect();
        let aug = Augment {
            base_size: 40,
            crop_size: 32,
            random: true,
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (mut padded, mut exact, mut labelled) = (0, 0, 0);
        for _ in 0..20 {
            let (v, m) = aug.apply(img.clone(), mask.clone(), &mut rng);
            assert_eq!((v.len(), m.len()), (3 * 32 * 32, 32 * 32));
            for (i, &t) in m.iter().enumerate() {
                let red = v[i];
                if t == IGNORE {
                    // Padding: black.
                    assert_eq!(red, -1.0);
                    padded += 1;
                } else {
                    // Nearest-neighbour classes against bilinear colours: equal away from
                    // the class borders.
                    let want = (t as f32 * 100.0 / 255.0 - 0.5) / 0.5;
                    exact += ((red - want).abs() < 0.02) as usize;
                    labelled += 1;
                }
            }
        }
        assert!(
            exact * 10 > labelled * 7,
            "{exact} of {labelled} pixels agree"
        );
        assert!(padded > 0, "a 0.5x scale of a 50x30 image pads a 32 crop");
        // The same seed gives the same crops.
        let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut b = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        assert_eq!(
            aug.apply(img.clone(), mask.clone(), &mut a),
            aug.apply(img, mask, &mut b)
        );
    }
}
