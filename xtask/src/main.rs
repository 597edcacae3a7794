//! `cargo xtask bundle quell [--release] [--features ...]`: nice-plug's bundler, plus one correction.
//!
//! nice-plug's bundler takes any binary named like the package (`quell`) for the standalone app.
//! In this workspace that name belongs to the command-line tool (crate `quell-cli`), and the
//! standalone is `quell_standalone`, built only with the `standalone` feature. So after bundling
//! `quell`, `target/bundled/Quell` is made to be the standalone when it was asked for, and removed
//! otherwise: a user never finds the CLI posing as the app.

use std::path::PathBuf;

fn main() -> nice_plug_xtask::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    nice_plug_xtask::main_with_args("cargo xtask", args.clone())?;
    fix_standalone(&args)
}

fn fix_standalone(args: &[String]) -> nice_plug_xtask::Result<()> {
    if args.first().map(String::as_str) != Some("bundle") || !args.iter().any(|a| a == "quell") {
        return Ok(());
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { root.join(t) })
        .unwrap_or_else(|| root.join("target"));
    let profile = profile_dir(args);
    let wants_standalone = args.windows(2).any(|w| {
        (w[0] == "--features" || w[0] == "-F") && w[1].split([',', ' ']).any(|f| f == "standalone")
    }) || args.iter().any(|a| {
        a.strip_prefix("--features=")
            .is_some_and(|f| f.split([',', ' ']).any(|f| f == "standalone"))
    });
    let bundled = target.join("bundled").join("Quell");
    if wants_standalone {
        let app = target.join(profile).join("quell_standalone");
        std::fs::copy(&app, &bundled)?;
        eprintln!("Standalone: '{}' is {}", bundled.display(), app.display());
    } else if bundled.is_file() {
        std::fs::remove_file(&bundled)?;
        eprintln!(
            "Removed '{}': without the `standalone` feature there is no standalone app (the binary \
             the bundler found there is the `quell` command-line tool)",
            bundled.display()
        );
    }
    Ok(())
}

/// The build directory under the target dir: `release`, a `--profile`'s name, or `debug`.
fn profile_dir(args: &[String]) -> String {
    for (i, a) in args.iter().enumerate() {
        if a == "--release" {
            return "release".into();
        }
        if a == "--profile" {
            if let Some(p) = args.get(i + 1) {
                return if p == "dev" {
                    "debug".into()
                } else {
                    p.clone()
                };
            }
        }
        if let Some(p) = a.strip_prefix("--profile=") {
            return if p == "dev" { "debug".into() } else { p.into() };
        }
    }
    "debug".into()
}
