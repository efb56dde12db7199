//! Label colours: the one palette the front ends draw label maps with (the CLI's pictures, the
//! ROS 2 node's colour and overlay images), so a label has the same colour everywhere.

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

/// `p` blended towards `c`: `(1 - alpha) p + alpha c` per channel, rounded.
pub fn blend(p: [u8; 3], c: [u8; 3], alpha: f32) -> [u8; 3] {
    std::array::from_fn(|k| (p[k] as f32 * (1.0 - alpha) + c[k] as f32 * alpha).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_distinct_and_stable() {
        let all: Vec<_> = (0..256).map(colour).collect();
        let mut uniq = all.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), all.len());
        assert_eq!(colour(0), [0xF3, 0xC3, 0x00]);
    }

    #[test]
    fn blend_ends_and_middle() {
        assert_eq!(blend([10, 20, 30], [200, 100, 0], 0.0), [10, 20, 30]);
        assert_eq!(blend([10, 20, 30], [200, 100, 0], 1.0), [200, 100, 0]);
        assert_eq!(blend([0, 0, 0], [255, 101, 3], 0.5), [128, 51, 2]);
    }
}
