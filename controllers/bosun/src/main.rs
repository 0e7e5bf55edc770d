//! `bosun`: the controllers (`bosun run`), the DNS server (`bosun dns`) and the CRDs
//! (`bosun crds`) in one binary.

use std::io::Write;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Kubernetes' core controllers as custom resources, and a DNS server.
#[derive(Parser, Debug)]
#[command(name = "bosun", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the CustomResourceDefinitions of bosun's kinds as a multi-document YAML stream.
    Crds {
        /// Write one `<plural>.<group>.yaml` file per CRD into this directory instead.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<std::path::PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Crds { out_dir: None } => print_crds(),
        Command::Crds { out_dir: Some(dir) } => write_crds(&dir),
    }
}

fn print_crds() -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(crds_yaml()?.as_bytes())
        .context("writing the CRDs to stdout")
}

fn write_crds(dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (file, yaml) in crd_files()? {
        let path = dir.join(file);
        std::fs::write(&path, yaml).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The CRDs as one YAML stream.
fn crds_yaml() -> anyhow::Result<String> {
    Ok(crd_files()?
        .into_iter()
        .map(|(_, yaml)| format!("---\n{yaml}"))
        .collect())
}

/// The CRDs as the files committed under `crds/`: `(file name, YAML)`.
fn crd_files() -> anyhow::Result<Vec<(String, String)>> {
    bosun_api::crd::all()
        .into_iter()
        .map(|crd| {
            let name = crd.metadata.name.clone().unwrap_or_default();
            let yaml = serde_saphyr::to_string(&crd).context("serialising a CRD to YAML")?;
            Ok((format!("{name}.yaml"), yaml))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `crds/` is generated from the types; regenerate with `make crds`.
    #[test]
    fn committed_crds_match_the_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crds");
        let files = crd_files().expect("CRDs serialise");
        let mut committed: Vec<_> = std::fs::read_dir(&dir)
            .expect("crds/ exists")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        committed.sort();
        let mut generated: Vec<_> = files.iter().map(|(n, _)| n.clone()).collect();
        generated.sort();
        assert_eq!(
            committed, generated,
            "crds/ holds other files than the types generate; run `make crds`"
        );
        for (name, yaml) in files {
            let on_disk = std::fs::read_to_string(dir.join(&name)).expect("readable");
            assert!(
                on_disk == yaml,
                "crds/{name} drifted from the Rust types; run `make crds`"
            );
        }
    }
}
