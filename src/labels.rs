//! Label lists: the rules every front end shares (how many, how a comma list splits) and
//! built-in label sets. The per-label rules (not empty, at most 77 CLIP tokens unless
//! truncated) are applied where labels are tokenised, [`Lseg::tokenize`](crate::Lseg::tokenize).

use crate::error::{Error, Result};

/// Most labels in one set (label maps are `u16`).
pub const MAX_LABELS: usize = 65535;

/// Longest label in UTF-8 bytes, checked before tokenising (77 CLIP tokens are far shorter;
/// the bound keeps truncated labels cheap).
pub const MAX_LABEL_BYTES: usize = 4096;

/// Check one label's length: at most [`MAX_LABEL_BYTES`].
pub fn check_length(index: usize, label: &str) -> Result<()> {
    if label.len() > MAX_LABEL_BYTES {
        return Err(Error::Label(format!(
            "label {index} is {} bytes long, at most {MAX_LABEL_BYTES}",
            label.len()
        )));
    }
    Ok(())
}

/// Check the length of a label list: `1..=MAX_LABELS`.
pub fn check_count(n: usize) -> Result<()> {
    match n {
        0 => Err(Error::Label("the label list is empty".into())),
        n if n > MAX_LABELS => Err(Error::Label(format!(
            "{n} labels given, at most {MAX_LABELS}"
        ))),
        _ => Ok(()),
    }
}

/// The labels of a labels file: one per line, trimmed; blank lines and lines starting with
/// `#` are skipped.
pub fn parse_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Split a comma-separated list (`"dog, grass, other"`) into trimmed labels, as command lines
/// and parameter files write them. Empty entries are kept, so that encoding them reports
/// their position.
pub fn split_list(list: &str) -> Vec<String> {
    list.split(',').map(|l| l.trim().to_string()).collect()
}

/// The class names of an evaluation labels file (class k = line k), as the official code reads
/// `label_files/*_objectInfo150.txt`: per line the last comma-separated field, its first
/// `;`-separated synonym, trimmed. Blank lines and lines starting with `#` are skipped, so a
/// plain one-name-per-line file reads as itself.
pub fn parse_class_file(text: &str) -> Vec<String> {
    parse_lines(text)
        .iter()
        .map(|l| {
            let last = l.rsplit(',').next().unwrap_or(l);
            last.split(';').next().unwrap_or(last).trim().to_string()
        })
        .collect()
}

/// The 150 ADE20K class names as the official code reads them
/// (`label_files/ade20k_objectInfo150.txt`, last name of each line, first synonym).
pub const ADE20K: [&str; 150] = [
    "wall",
    "building",
    "sky",
    "floor",
    "tree",
    "ceiling",
    "road",
    "bed",
    "windowpane",
    "grass",
    "cabinet",
    "sidewalk",
    "person",
    "earth",
    "door",
    "table",
    "mountain",
    "plant",
    "curtain",
    "chair",
    "car",
    "water",
    "painting",
    "sofa",
    "shelf",
    "house",
    "sea",
    "mirror",
    "rug",
    "field",
    "armchair",
    "seat",
    "fence",
    "desk",
    "rock",
    "wardrobe",
    "lamp",
    "bathtub",
    "railing",
    "cushion",
    "base",
    "box",
    "column",
    "signboard",
    "chest",
    "counter",
    "sand",
    "sink",
    "skyscraper",
    "fireplace",
    "refrigerator",
    "grandstand",
    "path",
    "stairs",
    "runway",
    "case",
    "pool",
    "pillow",
    "screen",
    "stairway",
    "river",
    "bridge",
    "bookcase",
    "blind",
    "coffee",
    "toilet",
    "flower",
    "book",
    "hill",
    "bench",
    "countertop",
    "stove",
    "palm",
    "kitchen",
    "computer",
    "swivel",
    "boat",
    "bar",
    "arcade",
    "hovel",
    "bus",
    "towel",
    "light",
    "truck",
    "tower",
    "chandelier",
    "awning",
    "streetlight",
    "booth",
    "television",
    "airplane",
    "dirt",
    "apparel",
    "pole",
    "land",
    "bannister",
    "escalator",
    "ottoman",
    "bottle",
    "buffet",
    "poster",
    "stage",
    "van",
    "ship",
    "fountain",
    "conveyer",
    "canopy",
    "washer",
    "plaything",
    "swimming",
    "stool",
    "barrel",
    "basket",
    "waterfall",
    "tent",
    "bag",
    "minibike",
    "cradle",
    "oven",
    "ball",
    "food",
    "step",
    "tank",
    "trade",
    "microwave",
    "pot",
    "animal",
    "bicycle",
    "lake",
    "dishwasher",
    "screen",
    "blanket",
    "sculpture",
    "hood",
    "sconce",
    "vase",
    "traffic",
    "tray",
    "ashcan",
    "fan",
    "pier",
    "crt",
    "plate",
    "monitor",
    "bulletin",
    "shower",
    "radiator",
    "glass",
    "clock",
    "flag",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_lists_split_and_trim() {
        assert_eq!(
            split_list(" dog,grass , a red car"),
            ["dog", "grass", "a red car"]
        );
        assert_eq!(split_list("dog,,cat"), ["dog", "", "cat"]);
    }

    #[test]
    fn label_files_skip_blank_and_comment_lines() {
        assert_eq!(
            parse_lines("# classes\n dog \n\n  \ngrass\r\n#x\n"),
            ["dog", "grass"]
        );
    }

    #[test]
    fn over_long_labels_are_label_errors() {
        assert!(check_length(0, &"a".repeat(MAX_LABEL_BYTES)).is_ok());
        let e = check_length(3, &"a".repeat(MAX_LABEL_BYTES + 1)).unwrap_err();
        assert!(
            matches!(&e, Error::Label(m) if m.contains("label 3 is 4097 bytes")),
            "{e}"
        );
    }

    #[test]
    fn counts_outside_the_range_are_label_errors() {
        assert!(check_count(1).is_ok() && check_count(MAX_LABELS).is_ok());
        for n in [0, MAX_LABELS + 1] {
            assert!(matches!(check_count(n), Err(Error::Label(_))), "{n}");
        }
    }

    #[test]
    fn class_files_read_as_the_official_code_reads_them() {
        assert_eq!(
            parse_class_file("wall\nbuilding;edifice\n1, 2, person;individual\n\n# c\nsky\n"),
            ["wall", "building", "person", "sky"]
        );
    }
}
