//! The deployment recipes of `deploy/` (docs/deploy.md), tested as far as a machine without
//! Docker or Kubernetes allows: every YAML file parses, the keys that wire the migration step
//! before the application are there, and every `strata` command written in them runs, in
//! deployment order, with the built binary against scratch SQLite and PostgreSQL databases.

mod common;

use std::path::{Path, PathBuf};

use common::{copy_tree, Project, Run};
use saphyr::{LoadableYamlNode, Yaml};
use strata_testdb::{PgScratch, SqliteScratch};

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The single document of `deploy/<rel>`; a parse error names the file, line and column.
fn load(rel: &str) -> Yaml<'static> {
    let path = deploy_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs = Yaml::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(docs.len(), 1, "{rel}: expected one YAML document");
    docs.remove(0)
}

/// `node[k1][k2]…` through mappings (string keys) and sequences (numeric keys).
fn at<'a>(node: &'a Yaml<'static>, keys: &[&str]) -> &'a Yaml<'static> {
    keys.iter().fold(node, |n, k| match k.parse::<usize>() {
        Ok(i) => n.as_sequence_get(i).unwrap_or_else(|| panic!("no [{i}] in {n:?}")),
        Err(_) => n.as_mapping_get(k).unwrap_or_else(|| panic!("no key {k:?} in {n:?}")),
    })
}

fn text(node: &Yaml<'static>, keys: &[&str]) -> String {
    at(node, keys).as_str().unwrap_or_else(|| panic!("{keys:?} is not a string")).to_string()
}

fn strings(node: &Yaml<'static>) -> Vec<String> {
    node.as_vec()
        .map(|v| v.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// Every argv written in a file: sequences starting with `strata`, and `run:` lines starting
/// with `strata ` (GitHub Actions), in document order.
fn strata_commands(node: &Yaml<'static>, out: &mut Vec<Vec<String>>) {
    if let Some(items) = node.as_vec() {
        let argv = strings(node);
        if argv.len() == items.len() && argv.first().is_some_and(|a| a == "strata") {
            out.push(argv[1..].to_vec());
            return;
        }
        items.iter().for_each(|i| strata_commands(i, out));
    } else if let Some(map) = node.as_mapping() {
        for (k, v) in map {
            match (k.as_str(), v.as_str()) {
                (Some("run"), Some(line)) if line.trim_start().starts_with("strata ") => {
                    out.push(line.split_whitespace().skip(1).map(str::to_string).collect());
                }
                _ => strata_commands(v, out),
            }
        }
    }
}

fn commands_of(rel: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    strata_commands(&load(rel), &mut out);
    out
}

#[test]
fn compose_gates_the_app_on_a_successful_migration() {
    let c = load("compose.yaml");
    let services = at(&c, &["services"]);
    assert_eq!(
        text(services, &["app", "depends_on", "migrate", "condition"]),
        "service_completed_successfully"
    );
    assert_eq!(text(services, &["migrate", "depends_on", "db", "condition"]), "service_healthy");
    assert_eq!(strings(at(services, &["migrate", "command"])), ["strata", "apply"]);
    assert_eq!(text(services, &["migrate", "build", "dockerfile"]), "deploy/Dockerfile");
    for service in ["db", "migrate", "app"] {
        let env = at(services, &[service, "environment"]).as_mapping().unwrap();
        for (k, v) in env {
            let (k, v) = (k.as_str().unwrap(), v.as_str().unwrap_or(""));
            if k.contains("PASSWORD") || k == "DATABASE_URL" {
                assert!(
                    v.contains("${POSTGRES_PASSWORD"),
                    "{service}.{k} must take the password from the environment"
                );
            }
        }
    }
    assert_eq!(commands_of("compose.yaml"), [["apply"]]);
}

#[test]
fn kubernetes_job_migrates_and_the_deployment_waits_for_it() {
    let job = load("k8s/migrate-job.yaml");
    let deployment = load("k8s/app-deployment.yaml");
    assert_eq!((text(&job, &["apiVersion"]), text(&job, &["kind"])), ("batch/v1".into(), "Job".into()));
    assert_eq!(text(&deployment, &["kind"]), "Deployment");
    let pod = at(&job, &["spec", "template", "spec"]);
    assert_eq!(text(pod, &["restartPolicy"]), "Never");
    let migrate = at(pod, &["containers", "0"]);
    let gate = at(&deployment, &["spec", "template", "spec", "initContainers", "0"]);
    assert_eq!(strings(at(migrate, &["command"])), ["strata", "apply"]);
    assert_eq!(strings(at(gate, &["command"])), ["strata", "status"]);
    assert_eq!(
        text(migrate, &["image"]),
        text(gate, &["image"]),
        "the gate must check the migrations the job applies"
    );
    let secret = |c: &Yaml<'static>| format!("{:?}", at(c, &["env", "0", "valueFrom", "secretKeyRef"]));
    assert_eq!(secret(migrate), secret(gate), "both must read the same DATABASE_URL secret");
    let selector = at(&deployment, &["spec", "selector", "matchLabels"]).as_mapping().unwrap();
    let labels = at(&deployment, &["spec", "template", "metadata", "labels"]);
    for (k, v) in selector {
        assert_eq!(
            labels.as_mapping_get(k.as_str().unwrap()),
            Some(v),
            "selector label {k:?} not on the pods"
        );
    }
}

#[test]
fn ci_checks_for_missing_migrations_and_prints_the_plan() {
    assert_eq!(commands_of("ci.yaml"), [vec!["create-migration", "--check"], vec!["apply", "--dry-run"]]);
    assert!(!Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.github/workflows").exists());
}

#[test]
fn dockerfile_is_multi_stage_static_and_copies_what_exists() {
    let text = std::fs::read_to_string(deploy_dir().join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains("alpine") && froms[1].contains("distroless/static"), "{froms:?}");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for line in text.lines().filter(|l| l.starts_with("COPY ") && !l.contains("--from")) {
        let source = line.split_whitespace().nth(1).unwrap();
        assert!(root.join(source).exists(), "{line}: {source} is not in the repository");
    }
    assert!(text.contains("CMD [\"strata\", \"status\"]"));
}

/// A copy of the repository's example project (SQLite dialect), as the image carries it.
fn example_project() -> Project {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("app");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    copy_tree(&root.join("models"), &dir.join("models"));
    copy_tree(&root.join("migrations"), &dir.join("migrations"));
    std::fs::copy(root.join("strata.toml"), dir.join("strata.toml")).unwrap();
    Project::laid_out(tmp, dir)
}

fn run(project: &Project, url: &str, argv: &[String]) -> Run {
    let args: Vec<&str> = argv.iter().map(String::as_str).collect();
    project.run_env(common::LATER, &args, &[("DATABASE_URL", Some(Path::new(url)))])
}

/// The recipes' commands in deployment order, each with the exit code it must give.
fn deploy_in_order(project: &Project, url: &str, with_ci: bool) {
    let [gate] = &commands_of("k8s/app-deployment.yaml")[..] else { panic!("one command in the deployment") };
    if with_ci {
        for argv in commands_of("ci.yaml") {
            run(project, url, &argv).code(0);
        }
    }
    run(project, url, gate).code(2).says("pending");
    for argv in commands_of("k8s/migrate-job.yaml").iter().chain(&commands_of("compose.yaml")) {
        run(project, url, argv).code(0);
    }
    run(project, url, gate).code(0);
}

#[test]
fn the_recipes_commands_run_against_sqlite() {
    let project = example_project();
    let db = SqliteScratch::new("deploy_recipes");
    deploy_in_order(&project, &db.url, true);
}

#[test]
fn the_recipes_commands_run_against_postgres() {
    let project = Project::fixture("apply/pg");
    let db = PgScratch::new("deploy_recipes");
    deploy_in_order(&project, &db.url, false);
    run(&project, &db.url, &commands_of("ci.yaml")[1]).code(0).says("nothing to apply");
}
