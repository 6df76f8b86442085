//! Fetches the pinned third-party files listed in `assets/vendor.lock` (htmx, its
//! SSE extension and the Noto Sans SC font with its licence) with `npm pack`,
//! and Unicode's Unihan mappings, which list 通用规范汉字表 in full, with `pip
//! download`, checks each archive against the sha256 kept in the repository,
//! and extracts the listed file into `$OUT_DIR/vendor`; `src/web/assets.rs`
//! embeds the `.js` files.
//!
//! The font is then cut down to what a transcript needs ([`transcript_chars`]:
//! the 8,105 characters of 通用规范汉字表 (2013) as Unihan's `kTGH` field lists
//! them, GB2312 — its 6,763 hanzi, punctuation and full-width forms — the
//! symbols of GBK, ASCII and the CJK punctuation blocks) and written to
//! `$OUT_DIR/fonts/transcript.ttf`, which `src/export/font.rs` includes: the
//! binary grows by the subset only.
//!
//! Nothing third-party is committed. A build machine without network access can
//! point `KEFU_VENDOR_DIR` at a folder holding the same `.tgz` and `.whl` files.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

struct Pin {
    package: String,
    version: String,
    inner: String,
    served: String,
    sha256: String,
}

fn main() {
    println!("cargo:rerun-if-changed=assets/vendor.lock");
    println!("cargo:rerun-if-env-changed=KEFU_VENDOR_DIR");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let tarballs = out.join("vendor-tgz");
    let vendor = out.join("vendor");
    std::fs::create_dir_all(&tarballs).expect("create vendor-tgz");
    std::fs::create_dir_all(&vendor).expect("create vendor");

    let lock = std::fs::read_to_string("assets/vendor.lock").expect("read assets/vendor.lock");
    for pin in lock.lines().filter_map(parse_line) {
        let served = vendor.join(&pin.served);
        let stamp = vendor.join(format!("{}.sha256", pin.served));
        if served.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&pin.sha256) {
            continue;
        }
        let Some(tgz) = fetch(&pin, &tarballs) else {
            continue;
        };
        let bytes = std::fs::read(&tgz).expect("read tarball");
        let digest = hex(&Sha256::digest(&bytes));
        if digest != pin.sha256 {
            let _ = std::fs::remove_file(&tgz);
            panic!(
                "{}@{}: sha256 {} does not match assets/vendor.lock ({})",
                pin.package, pin.version, digest, pin.sha256
            );
        }
        extract(&tgz, &pin.inner, &served);
        std::fs::write(&stamp, &pin.sha256).expect("write stamp");
    }
    // Without the Unihan list (no pip on this machine) the font keeps GB2312
    // and GBK's symbols; fetch() said so in a build warning.
    let tgh = std::fs::read_to_string(vendor.join(UNIHAN)).unwrap_or_default();
    subset_font(
        &vendor.join(FONT),
        &out.join("fonts"),
        &tongyong_guifan(&tgh),
    );
}

/// The font file, as `assets/vendor.lock` names it.
const FONT: &str = "NotoSansSC-Regular.ttf";

/// Unihan's other mappings (Unicode 14.0), as `assets/vendor.lock` names them.
const UNIHAN: &str = "Unihan_OtherMappings.txt";

/// How many characters 通用规范汉字表 (2013) has.
const TONGYONG_GUIFAN: usize = 8105;

/// Bump when [`transcript_chars`] changes, so the subset is cut again.
const SUBSET_VERSION: &str = "tgh2013+gb2312+gbk-symbols+ascii+cjk-punct 2";

/// The characters of 通用规范汉字表 are those Unihan gives a `kTGH` position
/// (`U+5803\tkTGH\t2013:6530`). A file that does not list exactly 8,105 of
/// them is refused rather than silently cutting a smaller font.
fn tongyong_guifan(unihan: &str) -> Vec<char> {
    if unihan.is_empty() {
        return Vec::new();
    }
    let chars: Vec<char> = unihan
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (cp, field) = (f.next()?, f.next()?);
            (field == "kTGH").then_some(cp)
        })
        .filter_map(|cp| u32::from_str_radix(cp.strip_prefix("U+")?, 16).ok())
        .filter_map(char::from_u32)
        .collect();
    assert_eq!(
        chars.len(),
        TONGYONG_GUIFAN,
        "{UNIHAN}: expected the {TONGYONG_GUIFAN} kTGH characters of 通用规范汉字表"
    );
    chars
}

/// Every character the transcript font keeps: 通用规范汉字表 (`tongyong`),
/// GB2312 (decoded from its byte grid, so the list is not hand-typed), the
/// symbols and punctuation GBK adds (its non-ideographs), ASCII, Latin-1
/// punctuation, general punctuation, CJK symbols and punctuation, and the
/// full-width forms.
fn transcript_chars(tongyong: &[char]) -> Vec<char> {
    let mut chars: Vec<char> = tongyong.to_vec();
    for hi in 0xA1u8..=0xF7 {
        for lo in 0xA1u8..=0xFE {
            let pair = [hi, lo];
            let (text, _, bad) = encoding_rs::GBK.decode(&pair);
            if !bad {
                // User-defined rows decode to the Private Use Area: not text.
                chars.extend(
                    text.chars()
                        .filter(|c| !c.is_control() && !('\u{E000}'..='\u{F8FF}').contains(c)),
                );
            }
        }
    }
    // GBK's symbols: everything it encodes that is not an ideograph (its
    // 21,000 hanzi beyond GB2312 are rare names and classical forms).
    for hi in 0x81u8..=0xFE {
        for lo in (0x40u8..=0xFE).filter(|b| *b != 0x7F) {
            let pair = [hi, lo];
            let (text, _, bad) = encoding_rs::GBK.decode(&pair);
            if !bad {
                chars.extend(text.chars().filter(|c| {
                    !c.is_control()
                        && !c.is_alphanumeric()
                        && !('\u{E000}'..='\u{F8FF}').contains(c)
                }));
            }
        }
    }
    let ranges = [
        (0x20, 0x7E),
        (0xA0, 0xFF),
        (0x2010, 0x206F),
        (0x2100, 0x214F),
        (0x2190, 0x21FF),
        (0x2460, 0x24FF),
        (0x25A0, 0x25FF),
        (0x3000, 0x303F),
        (0xFE30, 0xFE4F),
        (0xFF00, 0xFFEF),
    ];
    for (a, b) in ranges {
        chars.extend((a..=b).filter_map(char::from_u32));
    }
    chars.sort_unstable();
    chars.dedup();
    chars
}

/// Cuts the font down to [`transcript_chars`] (those the font has), keeping a
/// Unicode cmap so printpdf can map text to glyphs. Cached by a stamp.
fn subset_font(source: &Path, dir: &Path, tongyong: &[char]) {
    use allsorts::binary::read::ReadScope;
    use allsorts::font_data::FontData;
    use allsorts::subset::{CmapTarget, SubsetProfile, subset};
    use allsorts::tables::FontTableProvider;
    use allsorts::tables::cmap::Cmap;

    std::fs::create_dir_all(dir).expect("create fonts dir");
    let target = dir.join("transcript.ttf");
    let stamp = dir.join("transcript.stamp");
    let source_bytes = std::fs::read(source).expect("read the font");
    let key = format!("{} {}", hex(&Sha256::digest(&source_bytes)), SUBSET_VERSION);
    if target.exists() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(&key) {
        return;
    }
    let font = ReadScope::new(&source_bytes)
        .read::<FontData<'_>>()
        .expect("parse the font");
    let provider = font.table_provider(0).expect("font tables");
    let cmap_data = provider.read_table_data(allsorts::tag::CMAP).expect("cmap");
    let cmap = ReadScope::new(&cmap_data)
        .read::<Cmap<'_>>()
        .expect("parse cmap");
    let (_, table) = allsorts::font::read_cmap_subtable(&cmap)
        .expect("read cmap")
        .expect("a Unicode cmap");
    let mut glyphs = vec![0u16];
    let mut kept = 0usize;
    for ch in transcript_chars(tongyong) {
        if let Some(g) = table.map_glyph(ch as u32).expect("map glyph")
            && g != 0
        {
            glyphs.push(g);
            kept += 1;
        }
    }
    glyphs[1..].sort_unstable();
    glyphs.dedup();
    let bytes = subset(
        &provider,
        &glyphs,
        &SubsetProfile::Minimal,
        CmapTarget::Unicode,
    )
    .expect("subset the font");
    std::fs::write(&target, &bytes).expect("write the subset font");
    std::fs::write(dir.join("transcript.chars"), kept.to_string()).expect("write count");
    // Characters of 通用规范汉字表 the font itself lacks (a test expects none).
    let missing: String = tongyong
        .iter()
        .filter(|ch| {
            table
                .map_glyph(**ch as u32)
                .ok()
                .flatten()
                .is_none_or(|g| g == 0)
        })
        .collect();
    std::fs::write(dir.join("tongyong.missing"), missing).expect("write missing");
    std::fs::write(&stamp, key).expect("write stamp");
}

fn parse_line(line: &str) -> Option<Pin> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let f: Vec<&str> = line.split_whitespace().collect();
    assert!(f.len() == 5, "assets/vendor.lock: bad line {line:?}");
    Some(Pin {
        package: f[0].into(),
        version: f[1].into(),
        inner: f[2].into(),
        served: f[3].into(),
        sha256: f[4].into(),
    })
}

/// A Python package's name when the lock says `pypi:NAME`; npm otherwise.
fn pypi(pin: &Pin) -> Option<&str> {
    pin.package.strip_prefix("pypi:")
}

/// The archive's file name: the tarball npm writes (scope dropped, `/` turned
/// into `-`), or a pure-Python wheel.
fn archive_name(pin: &Pin) -> String {
    if let Some(name) = pypi(pin) {
        return format!(
            "{}-{}-py3-none-any.whl",
            name.replace('-', "_"),
            pin.version
        );
    }
    let base = pin.package.trim_start_matches('@').replace('/', "-");
    format!("{base}-{}.tgz", pin.version)
}

/// The archive for `pin`; `None` only for the optional Python package when
/// pip is missing or fails (a build warning says what the binary lacks).
fn fetch(pin: &Pin, dir: &Path) -> Option<PathBuf> {
    let name = archive_name(pin);
    if let Ok(local) = std::env::var("KEFU_VENDOR_DIR") {
        let p = Path::new(&local).join(&name);
        if p.exists() {
            return Some(p);
        }
    }
    let target = dir.join(&name);
    if target.exists() {
        return Some(target);
    }
    if let Some(package) = pypi(pin) {
        let spec = format!("{package}=={}", pin.version);
        let status = Command::new("python3")
            .args(["-m", "pip", "download", "--quiet", "--no-deps"])
            .args(["--only-binary=:all:", "--ignore-requires-python", "--dest"])
            .arg(dir)
            .arg(&spec)
            .status();
        if !matches!(&status, Ok(s) if s.success()) || !target.exists() {
            println!(
                "cargo:warning=could not fetch {spec} with python3 -m pip ({status:?}): the PDF \
                 font keeps GB2312 only; characters of 通用规范汉字表 outside it print as ? \
                 (install python3-pip and rebuild)"
            );
            return None;
        }
        return Some(target);
    }
    let spec = format!("{}@{}", pin.package, pin.version);
    let status = Command::new("npm")
        .args(["pack", &spec, "--silent", "--pack-destination"])
        .arg(dir)
        .status()
        .unwrap_or_else(|e| {
            panic!("building kefu needs npm to fetch {spec} (see README, 'Why Node.js at build time'): {e}")
        });
    assert!(status.success(), "npm pack {spec} failed ({status})");
    assert!(
        target.exists(),
        "npm pack {spec} did not write {}",
        target.display()
    );
    Some(target)
}

fn extract(tgz: &Path, inner: &str, served: &Path) {
    if tgz.extension().is_some_and(|e| e == "whl") {
        // A wheel is a zip file; python3 (there for pip) reads the one member.
        let status = Command::new("python3")
            .args([
                "-c",
                "import sys, zipfile; open(sys.argv[3], 'wb').write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))",
            ])
            .arg(tgz)
            .arg(inner)
            .arg(served)
            .status()
            .expect("run python3");
        assert!(
            status.success(),
            "python3 could not extract {inner} from {}",
            tgz.display()
        );
        return;
    }
    let tmp = served.with_extension("extract");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("create extract dir");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(tgz)
        .arg("-C")
        .arg(&tmp)
        .arg(inner)
        .status()
        .expect("run tar");
    assert!(
        status.success(),
        "tar could not extract {inner} from {}",
        tgz.display()
    );
    std::fs::rename(tmp.join(inner), served).expect("move extracted file");
    let _ = std::fs::remove_dir_all(&tmp);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
