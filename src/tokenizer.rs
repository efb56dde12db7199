//! OpenAI CLIP tokenisation (`clip.tokenize`), reproduced exactly.
//!
//! Pipeline, as `SimpleTokenizer.encode`: text clean-up (a subset of `ftfy.fix_text` that
//! covers what labels meet: mojibake, ligatures, full-width forms, curly quotes, NFC), HTML
//! unescaping twice, whitespace collapsing, lower-casing, the CLIP split regex, byte-to-unicode
//! mapping, then byte-pair merges by the `tokenizers` crate's BPE model with the `</w>`
//! end-of-word suffix. The vocabulary (`bpe_simple_vocab_16e6.txt.gz`) is compiled in.

use std::borrow::Cow;
use std::io::Read;
use std::sync::OnceLock;

use tokenizers::Model;
use tokenizers::models::bpe::BPE;
use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Start-of-text id.
pub const SOT: u32 = 49406;
/// End-of-text id (the largest id: the text feature is read at its position).
pub const EOT: u32 = 49407;
/// CLIP context length.
pub const CONTEXT_LENGTH: usize = 77;

static BPE_GZ: &[u8] = include_bytes!("../assets/bpe_simple_vocab_16e6.txt.gz");
const SPLIT: &str = r"(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

/// The CLIP BPE tokenizer. Build once ([`ClipTokenizer::global`]) and share: it is `Sync`.
pub struct ClipTokenizer {
    bpe: BPE,
    split: regex::Regex,
    byte_encoder: [char; 256],
}

/// GPT-2 / CLIP `bytes_to_unicode`: printable bytes map to themselves, the others to U+0100+.
fn bytes_to_unicode() -> ([char; 256], Vec<char>) {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    let mut table = ['\0'; 256];
    let order: Vec<char> = cs
        .iter()
        .map(|&c| char::from_u32(c).expect("valid"))
        .collect();
    for (b, c) in bs.iter().zip(&order) {
        table[*b as usize] = *c;
    }
    (table, order)
}

impl ClipTokenizer {
    /// Build the tokenizer from the embedded vocabulary.
    pub fn new() -> Result<Self> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(BPE_GZ)
            .read_to_string(&mut text)
            .map_err(|e| Error::Tokenizer(format!("embedded vocabulary: {e}")))?;
        // As SimpleTokenizer: merges = lines[1 : 49152 - 256 - 2 + 1].
        let merges: Vec<(String, String)> = text
            .split('\n')
            .skip(1)
            .take(49152 - 256 - 2)
            .map(|l| {
                let mut it = l.split(' ');
                (
                    it.next().unwrap_or_default().to_string(),
                    it.next().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let (byte_encoder, order) = bytes_to_unicode();
        let mut vocab: Vec<String> = order.iter().map(|c| c.to_string()).collect();
        vocab.extend(order.iter().map(|c| format!("{c}</w>")));
        vocab.extend(merges.iter().map(|(a, b)| format!("{a}{b}")));
        vocab.push("<|startoftext|>".into());
        vocab.push("<|endoftext|>".into());
        let vocab: ahash::AHashMap<String, u32> = vocab
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s, i as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .end_of_word_suffix("</w>".into())
            .build()
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(Self {
            bpe,
            split: regex::Regex::new(SPLIT).map_err(|e| Error::Tokenizer(e.to_string()))?,
            byte_encoder,
        })
    }

    /// The process-wide tokenizer (built on first use, ~100 ms).
    pub fn global() -> Result<&'static Self> {
        static TOK: OnceLock<std::result::Result<ClipTokenizer, String>> = OnceLock::new();
        TOK.get_or_init(|| ClipTokenizer::new().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::Tokenizer(e.clone()))
    }

    /// BPE ids of a text, without SOT/EOT (`SimpleTokenizer.encode`).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let text = clean(text);
        let mut ids = Vec::new();
        for m in self.split.find_iter(&text) {
            let piece = m.as_str();
            match piece {
                "<|startoftext|>" => ids.push(SOT),
                "<|endoftext|>" => ids.push(EOT),
                _ => {
                    let mapped: String = piece
                        .bytes()
                        .map(|b| self.byte_encoder[b as usize])
                        .collect();
                    let toks = self
                        .bpe
                        .tokenize(&mapped)
                        .map_err(|e| Error::Tokenizer(e.to_string()))?;
                    ids.extend(toks.into_iter().map(|t| t.id));
                }
            }
        }
        Ok(ids)
    }

    /// One row of `clip.tokenize`: `[SOT, ids..., EOT]` (no padding). A text longer than the
    /// context is an error unless `truncate`, which keeps the first 77 ids and ends with EOT.
    pub fn tokenize(&self, text: &str, truncate: bool) -> Result<Vec<u32>> {
        let mut row = Vec::with_capacity(8);
        row.push(SOT);
        row.extend(self.encode(text)?);
        row.push(EOT);
        if row.len() > CONTEXT_LENGTH {
            if !truncate {
                return Err(Error::Label(format!(
                    "`{}` is {} tokens long, more than the context length {CONTEXT_LENGTH} \
                     (enable truncation to keep the first {CONTEXT_LENGTH})",
                    short(text),
                    row.len()
                )));
            }
            row.truncate(CONTEXT_LENGTH);
            row[CONTEXT_LENGTH - 1] = EOT;
        }
        Ok(row)
    }

    /// The BPE piece strings of ids (for debugging and tests).
    pub fn pieces(&self, ids: &[u32]) -> Vec<String> {
        ids.iter()
            .map(|&i| self.bpe.id_to_token(i).unwrap_or_default())
            .collect()
    }
}

fn short(s: &str) -> String {
    let t: String = s.chars().take(40).collect();
    if t.len() < s.len() {
        format!("{t}...")
    } else {
        t
    }
}

/// `whitespace_clean(basic_clean(text)).lower()`.
pub fn clean(text: &str) -> String {
    let t = fix_text(text);
    let t = htmlize::unescape(htmlize::unescape(&t).as_ref()).into_owned();
    let t: Vec<&str> = t.split_whitespace().collect();
    t.join(" ").to_lowercase()
}

/// The part of `ftfy.fix_text` (default settings) that matters for labels.
pub fn fix_text(text: &str) -> String {
    let mut t: String = text.nfc().collect();
    // fix_encoding: undo UTF-8 decoded as windows-1252 / latin-1, repeatedly.
    for _ in 0..4 {
        match fix_mojibake(&t) {
            Cow::Owned(s) => t = s,
            Cow::Borrowed(_) => break,
        }
    }
    let mut out = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            // fix_latin_ligatures
            '\u{FB00}' => out.push_str("ff"),
            '\u{FB01}' => out.push_str("fi"),
            '\u{FB02}' => out.push_str("fl"),
            '\u{FB03}' => out.push_str("ffi"),
            '\u{FB04}' => out.push_str("ffl"),
            '\u{FB05}' => out.push_str("ſt"),
            '\u{FB06}' => out.push_str("st"),
            '\u{0132}' => out.push_str("IJ"),
            '\u{0133}' => out.push_str("ij"),
            // uncurl_quotes
            '\u{2018}'..='\u{201B}' => out.push('\''),
            '\u{201C}'..='\u{201F}' => out.push('"'),
            // fix_character_width
            '\u{3000}' => out.push(' '),
            '\u{FF01}'..='\u{FFEE}' => out.extend(c.to_string().nfkc()),
            // remove_control_chars (a subset: C0 controls other than whitespace, and BOM)
            '\u{0000}'..='\u{0008}' | '\u{000E}'..='\u{001F}' | '\u{007F}' | '\u{FEFF}' => {}
            _ => out.push(c),
        }
    }
    out.nfc().collect()
}

/// windows-1252 with the five unassigned bytes mapped to C1 controls (ftfy's "sloppy" codec).
fn sloppy_cp1252_byte(c: char) -> Option<u8> {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    let u = c as u32;
    if u < 0x80 || (0xA0..=0xFF).contains(&u) {
        return Some(u as u8);
    }
    HIGH.iter().position(|&h| h == c).map(|i| 0x80 + i as u8)
}

/// Replace each maximal run of non-ASCII windows-1252 characters whose bytes form valid
/// multi-byte UTF-8 by the decoded text.
fn fix_mojibake(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut changed = false;
    let mut run: Vec<u8> = Vec::new();
    let mut run_str = String::new();
    let flush = |run: &mut Vec<u8>, run_str: &mut String, out: &mut String, changed: &mut bool| {
        if run.len() >= 2
            && let Ok(s) = std::str::from_utf8(run)
        {
            out.push_str(s);
            *changed = true;
            run.clear();
            run_str.clear();
            return;
        }
        out.push_str(run_str);
        run.clear();
        run_str.clear();
    };
    for c in text.chars() {
        match sloppy_cp1252_byte(c) {
            Some(b) if b >= 0x80 => {
                run.push(b);
                run_str.push(c);
            }
            _ => {
                flush(&mut run, &mut run_str, &mut out, &mut changed);
                out.push(c);
            }
        }
    }
    flush(&mut run, &mut run_str, &mut out, &mut changed);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}
