//! `strata inspect`: print a live database's schema as definition JSON or as SQL.

use std::path::Path;

use strata_schema::DatabaseDefinition;
use strata_sql::definition_sql;

use crate::commands::apply::ConnArgs;
use crate::commands::live::{print_warnings, project_or_default, read_target, SchemaArgs};
use crate::exit;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Output format.
    #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = ["json", "sql"])]
    pub format: String,
    #[command(flatten)]
    pub schemas: SchemaArgs,
}

pub fn run(project_dir: &Path, args: Args) -> anyhow::Result<u8> {
    let project = project_or_default(project_dir);
    let target = crate::commands::apply::resolve(&project, &args.conn)?;
    let live = read_target(&target, &args.schemas.options())?;
    eprintln!("database: {target}");
    print_warnings(&live.introspection);
    match args.format.as_str() {
        "sql" => {
            let definition = without_runner_history(&live.introspection.definition);
            let sql = definition_sql(live.dialect, &definition)
                .map_err(|e| anyhow::anyhow!("the live schema cannot be written as SQL: {e}"))?;
            print!("{sql}");
        }
        _ => println!("{}", strata_schema::definition_to_json(&live.introspection.definition)),
    }
    Ok(exit::OK)
}

/// The live schema without strata's runner history table: `apply` creates that table itself (and
/// upgrades it), so loading the printed SQL and then running `apply` must not find it already
/// there in another shape.
fn without_runner_history(live: &DatabaseDefinition) -> DatabaseDefinition {
    let mut out = live.clone();
    out.tables.retain(|t| t.name != strata_introspect::HISTORY_TABLE);
    out
}
