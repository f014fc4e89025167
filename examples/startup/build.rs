//! Embeds the example project's migrations (the repository root's `migrations/`) in the binary.

fn main() {
    if let Err(e) = strata_embed::embed_migrations("../../migrations") {
        // A build script reports through a failed build; the message names the directory.
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
