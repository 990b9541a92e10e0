//! clap definitions. dbt's global flags that mfb does not need are accepted and ignored so
//! scripts written for dbt keep working.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// mfb: dbt for PostgreSQL, fast, with row-level security built in.
#[derive(Debug, Parser)]
#[command(name = "mfb", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
    Default,
    Debug,
}

/// Flags accepted before or after the subcommand.
#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Directory holding dbt_project.yml (default: the current directory).
    #[arg(long, global = true, env = "DBT_PROJECT_DIR")]
    pub project_dir: Option<PathBuf>,
    /// Directory holding profiles.yml (default: $DBT_PROFILES_DIR, the project dir, ~/.dbt).
    #[arg(long, global = true)]
    pub profiles_dir: Option<PathBuf>,
    /// Target of the profile to use (default: $DBT_TARGET, then the profile's `target:`).
    #[arg(long, short = 't', global = true)]
    pub target: Option<String>,
    /// Variables as a YAML mapping, e.g. `{key: value}`.
    #[arg(long, global = true)]
    pub vars: Option<String>,
    /// Number of threads.
    #[arg(long, global = true)]
    pub threads: Option<u32>,
    /// Log output: text (default) or json (one event per line).
    #[arg(long, global = true, value_enum, env = "DBT_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Print only errors and requested output.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// Where to write artifacts (default: `target-path` of dbt_project.yml).
    #[arg(long, global = true, env = "DBT_TARGET_PATH")]
    pub target_path: Option<PathBuf>,

    // dbt flags accepted for compatibility; mfb always parses fully and never phones home.
    #[arg(long, global = true, hide = true)]
    pub no_partial_parse: bool,
    #[arg(long, global = true, hide = true)]
    pub partial_parse: bool,
    #[arg(long, global = true, hide = true)]
    pub use_colors: bool,
    #[arg(long, global = true, hide = true)]
    pub no_use_colors: bool,
    #[arg(long, global = true, hide = true)]
    pub no_version_check: bool,
    #[arg(long, global = true, hide = true)]
    pub version_check: bool,
    #[arg(long, global = true, hide = true)]
    pub send_anonymous_usage_stats: bool,
    #[arg(long, global = true, hide = true)]
    pub no_send_anonymous_usage_stats: bool,
    #[arg(long, global = true, hide = true)]
    pub no_print: bool,
    #[arg(long, global = true, hide = true)]
    pub static_parser: bool,
    #[arg(long, global = true, hide = true)]
    pub no_static_parser: bool,
    #[arg(long, global = true, hide = true)]
    pub use_experimental_parser: bool,
    #[arg(long, global = true, hide = true)]
    pub no_anonymous_usage_stats: bool,
    #[arg(long, short = 'd', global = true, hide = true)]
    pub debug: bool,
    #[arg(long, global = true, hide = true)]
    pub warn_error: bool,
    #[arg(long, global = true, hide = true)]
    pub log_path: Option<PathBuf>,
    #[arg(long, global = true, hide = true)]
    pub log_level: Option<String>,
    #[arg(long, global = true, hide = true)]
    pub log_format_file: Option<String>,
    #[arg(long, global = true, hide = true)]
    pub log_level_file: Option<String>,
    #[arg(long, global = true, hide = true)]
    pub cache_selected_only: bool,
    #[arg(long, global = true, hide = true)]
    pub no_cache_selected_only: bool,
    #[arg(long, global = true, hide = true)]
    pub populate_cache: bool,
    #[arg(long, global = true, hide = true)]
    pub no_populate_cache: bool,
    #[arg(long, global = true, hide = true)]
    pub introspect: bool,
    #[arg(long, global = true, hide = true)]
    pub no_introspect: bool,
    #[arg(long, global = true, hide = true)]
    pub write_json: bool,
    #[arg(long, global = true, hide = true)]
    pub no_write_json: bool,
    #[arg(long, global = true, hide = true)]
    pub printer_width: Option<u32>,
}

/// `--select`, `--exclude`, `--selector`, `--state`.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Nodes to include (dbt selection syntax); repeatable, space-separated values are a union.
    #[arg(long, short = 's', alias = "models", short_alias = 'm', num_args = 1.., action = clap::ArgAction::Append)]
    pub select: Vec<String>,
    /// Nodes to exclude.
    #[arg(long, num_args = 1.., action = clap::ArgAction::Append)]
    pub exclude: Vec<String>,
    /// A named selector from selectors.yml.
    #[arg(long)]
    pub selector: Option<String>,
    /// Directory with a previous run's manifest.json, for `state:` selectors.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// dbt's indirect selection mode (eager is what mfb implements).
    #[arg(long, hide = true)]
    pub indirect_selection: Option<String>,
    /// Accepted for compatibility.
    #[arg(long, hide = true)]
    pub defer: bool,
    /// Accepted for compatibility.
    #[arg(long, hide = true)]
    pub favor_state: bool,
}

/// `mfb docs ...`.
#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Compile the project and write target/manifest.json and target/catalog.json.
    Generate {
        #[command(flatten)]
        select: SelectArgs,
        /// Skip compiling the nodes (catalog and manifest only).
        #[arg(long)]
        no_compile: bool,
        /// Write an empty catalog without querying the database.
        #[arg(long)]
        empty_catalog: bool,
        /// Also write the whole site as one self-contained file, target/static_index.html.
        #[arg(long = "static")]
        static_file: bool,
    },
    /// Serve the docs site in target/ (written by `mfb docs generate`) over HTTP.
    Serve {
        /// The port to listen on.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The address to listen on (0.0.0.0 for every interface).
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
    },
}

/// `--tenant ID` / `--all-tenants`: run the command once per tenant of tenants.yml, in the
/// tenant's schema with `var('tenant')` and `var('current_tenant_id')` set.
#[derive(Debug, Args, Clone, Default)]
pub struct TenantArgs {
    /// Run for this tenant of tenants.yml, in its own schema (repeatable).
    #[arg(long = "tenant", value_name = "ID", action = clap::ArgAction::Append)]
    pub tenant: Vec<String>,
    /// Run once for every tenant of tenants.yml, tenants in parallel up to --threads.
    #[arg(long, conflicts_with = "tenant")]
    pub all_tenants: bool,
}

impl TenantArgs {
    /// The tenants asked for, or None for an ordinary (not per-tenant) run.
    pub fn choice(&self) -> Option<mfb_exec::tenants_run::TenantChoice> {
        use mfb_exec::tenants_run::TenantChoice;
        if self.all_tenants {
            Some(TenantChoice::All)
        } else if self.tenant.is_empty() {
            None
        } else {
            Some(TenantChoice::Ids(self.tenant.clone()))
        }
    }
}

/// `mfb source ...`.
#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Check how recently each selected source table was loaded.
    Freshness {
        #[command(flatten)]
        select: SelectArgs,
        /// Where to write the results (default: target/sources.json).
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

/// `mfb tenants ...`.
#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Create or update the roles, passwords, settings, role map and privileges of tenants.yml.
    Provision {
        /// Print the SQL instead of running it.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the tenants of tenants.yml and their roles.
    List,
    /// Write one Grafana data source provisioning file per tenant, connecting as its role.
    Grafana {
        /// Directory to write the files to (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `deps --source`: where `--add-package` takes the package from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DepsSource {
    #[default]
    Hub,
    Git,
    Local,
}

/// `ls --output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LsOutput {
    #[default]
    Selector,
    Name,
    Path,
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse the project and write target/manifest.json.
    Parse,
    /// Compile models, tests and analyses to target/compiled/.
    Compile {
        #[command(flatten)]
        select: SelectArgs,
        /// Compile this SQL instead of project nodes and print it.
        #[arg(long)]
        inline: Option<String>,
        /// Accepted for compatibility (compile always writes files).
        #[arg(long, hide = true)]
        no_introspect: bool,
        /// Treat incremental models as full refreshes.
        #[arg(long)]
        full_refresh: bool,
        /// Output format of --inline (text or json).
        #[arg(long, hide = true)]
        output: Option<String>,
    },
    /// List resources.
    #[command(alias = "list")]
    Ls {
        #[command(flatten)]
        select: SelectArgs,
        /// Only these resource types (model, seed, snapshot, test, unit_test, source, exposure, analysis, all, default).
        #[arg(long, num_args = 1.., action = clap::ArgAction::Append)]
        resource_type: Vec<String>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value = "selector")]
        output: LsOutput,
        /// With --output json: the keys to print.
        #[arg(long, num_args = 1..)]
        output_keys: Vec<String>,
    },
    /// Delete the directories listed in clean-targets.
    Clean,
    /// Install the packages of packages.yml / dependencies.yml into dbt_packages/.
    Deps {
        /// Resolve the packages again even when package-lock.yml matches packages.yml.
        #[arg(long)]
        upgrade: bool,
        /// Only write package-lock.yml; install nothing.
        #[arg(long)]
        lock: bool,
        /// Add this package to packages.yml (or dependencies.yml) first, replacing an entry
        /// for the same package: NAME@VERSION (hub), URL@REVISION (git) or PATH (local).
        #[arg(long, value_name = "NAME@VERSION")]
        add_package: Option<String>,
        /// Where --add-package takes the package from.
        #[arg(long, value_enum, default_value = "hub")]
        source: DepsSource,
        /// dbt-core 1.7's `--dry-run`, removed since: refused with a pointer to --lock.
        #[arg(long, hide = true)]
        dry_run: bool,
    },
    /// Check the project, the profile and the database connection.
    Debug,
    /// Build the selected models in PostgreSQL (view, table, incremental).
    Run {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        tenants: TenantArgs,
        /// Rebuild incremental models from scratch.
        #[arg(long)]
        full_refresh: bool,
        /// Stop at the first failure: start nothing new, skip what is left.
        #[arg(long, short = 'x')]
        fail_fast: bool,
    },
    /// Run data tests and unit tests against the database.
    Test {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        tenants: TenantArgs,
        /// Stop at the first failure.
        #[arg(long, short = 'x')]
        fail_fast: bool,
        /// Store the failing rows of every test in `<schema>_dbt_test__audit`.
        #[arg(long)]
        store_failures: bool,
        /// Only these resource types (test, unit_test).
        #[arg(long, num_args = 1.., action = clap::ArgAction::Append)]
        resource_type: Vec<String>,
    },
    /// Build the selected snapshots (SCD type 2 history tables).
    Snapshot {
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Seed, run, snapshot and test the selected nodes in DAG order.
    Build {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        tenants: TenantArgs,
        /// Rebuild incremental models and seeds from scratch.
        #[arg(long)]
        full_refresh: bool,
        /// Stop at the first failure.
        #[arg(long, short = 'x')]
        fail_fast: bool,
        /// Store the failing rows of every test in `<schema>_dbt_test__audit`.
        #[arg(long)]
        store_failures: bool,
        /// Only these resource types.
        #[arg(long, num_args = 1.., action = clap::ArgAction::Append)]
        resource_type: Vec<String>,
    },
    /// Run a macro: `mfb run-operation MACRO --args '{key: value}'`.
    RunOperation {
        /// The macro (`name` or `package.name`).
        macro_name: String,
        #[command(flatten)]
        tenants: TenantArgs,
        /// The macro's arguments as a YAML mapping.
        #[arg(long)]
        args: Option<String>,
    },
    /// Preview the rows of a model or of inline SQL.
    Show {
        #[command(flatten)]
        select: SelectArgs,
        /// SQL to preview instead of a model.
        #[arg(long)]
        inline: Option<String>,
        /// How many rows to show (-1: all).
        #[arg(long, default_value_t = 5, allow_negative_numbers = true)]
        limit: i64,
        /// Output format: text (a table) or json.
        #[arg(long, short = 'o', default_value = "text")]
        output: String,
    },
    /// Rerun the nodes that failed or were skipped in the last run (from target/run_results.json).
    Retry,
    /// Documentation: `mfb docs generate` (the docs site in target/), `mfb docs serve`.
    Docs {
        #[command(subcommand)]
        command: DocsCommand,
    },
    /// Source commands: `mfb source freshness`.
    Source {
        #[command(subcommand)]
        command: SourceCommand,
    },
    /// Tenants of tenants.yml: `provision`, `list`, `grafana`.
    Tenants {
        #[command(subcommand)]
        command: TenantsCommand,
    },
    /// Load the seeds' CSV files into PostgreSQL.
    Seed {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        tenants: TenantArgs,
        /// Drop and recreate seed tables instead of truncating them.
        #[arg(long)]
        full_refresh: bool,
        /// Show a preview of loaded seeds (accepted for compatibility).
        #[arg(long, hide = true)]
        show: bool,
    },
}
