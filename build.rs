//! Fetches the pinned third-party front-end files listed in `assets/vendor.lock`
//! (htmx and its SSE extension) with `npm pack`, checks each tarball against the
//! sha256 kept in the repository, and extracts the served file into
//! `$OUT_DIR/vendor`, which `src/web/assets.rs` embeds into the binary.
//!
//! Nothing third-party is committed. A build machine without network access can
//! point `KEFU_VENDOR_DIR` at a folder holding the same `.tgz` files.

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
        let tgz = fetch(&pin, &tarballs);
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

/// The tarball name npm uses: scope dropped, `/` turned into `-`.
fn tgz_name(pin: &Pin) -> String {
    let base = pin.package.trim_start_matches('@').replace('/', "-");
    format!("{base}-{}.tgz", pin.version)
}

fn fetch(pin: &Pin, dir: &Path) -> PathBuf {
    let name = tgz_name(pin);
    if let Ok(local) = std::env::var("KEFU_VENDOR_DIR") {
        let p = Path::new(&local).join(&name);
        if p.exists() {
            return p;
        }
    }
    let target = dir.join(&name);
    if target.exists() {
        return target;
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
    target
}

fn extract(tgz: &Path, inner: &str, served: &Path) {
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
