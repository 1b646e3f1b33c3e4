//! Job definitions: the declarative file a connector crate ships, parsed and checked.
//!
//! A connector declares its batch jobs in a TOML file (Oro's `batch_jobs.yml`), usually
//! embedded with `include_str!`. Each job has a type (import or export), an optional model,
//! and steps run in the order they are written, each naming its reader, processor and
//! writer by the usage they are registered under in the
//! [`ComponentRegistry`](crate::registry::ComponentRegistry):
//!
//! ```toml
//! [jobs.shop_customer_export]
//! title = "Export customers"
//! type = "export"
//! model = "customer"
//!
//! [[jobs.shop_customer_export.steps]]
//! name = "export"
//! reader = "entity_by_id"
//! processor = "customer.export_processor"
//! writer = "customer.remote_writer"
//! batch_size = 1
//! parameters = { fields = ["email", "name"] }
//! ```
//!
//! Unlike Oro, steps are an array (their order is the file's order, not a map's), and a
//! mistake is found when the file is loaded, with a message that names the file, the job
//! and the step: [`JobCatalog::parse`] checks the structure, [`JobCatalog::validate`]
//! resolves every component name.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::components::{ItemProcessor, ItemReader, ItemWriter};
use crate::error::SyncError;
use crate::registry::ComponentRegistry;

/// The default number of items written together, as in Oro.
pub const DEFAULT_BATCH_SIZE: usize = 100;

/// Whether a job brings data in or sends it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobType {
    /// Remote → local.
    Import,
    /// Local → remote.
    Export,
}

impl JobType {
    /// The stored name: `import` or `export`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobType::Import => "import",
            JobType::Export => "export",
        }
    }
}

impl fmt::Display for JobType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mistake in a job file, naming where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    /// The file (as the connector named it, e.g. `sync-magento/jobs.toml`).
    pub file: String,
    /// The job, when the mistake is inside one.
    pub job: Option<String>,
    /// The step, when the mistake is inside one.
    pub step: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job file {}", self.file)?;
        if let Some(job) = &self.job {
            write!(f, ", job `{job}`")?;
        }
        if let Some(step) = &self.step {
            write!(f, ", step `{step}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for DefinitionError {}

impl From<DefinitionError> for SyncError {
    fn from(error: DefinitionError) -> Self {
        SyncError::Failed(error.to_string())
    }
}

/// One step: a chunked read → process → write loop.
#[derive(Debug, Clone, PartialEq)]
pub struct StepDefinition {
    /// The step's name, unique in its job.
    pub name: String,
    /// A human title.
    pub title: Option<String>,
    /// The usage of the [`ItemReader`] to use.
    pub reader: String,
    /// The usage of the [`ItemProcessor`] to use.
    pub processor: String,
    /// The usage of the [`ItemWriter`] to use.
    pub writer: String,
    /// How many processed items are written together (default 100).
    pub batch_size: usize,
    /// Step parameters, seen by the step's components (run parameters override them).
    pub parameters: serde_json::Map<String, Value>,
}

/// One job: its type, the model its components work on, and its steps in order.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDefinition {
    /// The job's name (Oro's alias), unique in the catalog.
    pub name: String,
    /// A human title.
    pub title: Option<String>,
    /// Import or export.
    pub job_type: JobType,
    /// The model the components are looked up for; `None` takes the connector's model.
    pub model: Option<String>,
    /// The steps, in the order they run.
    pub steps: Vec<StepDefinition>,
    /// The file it came from, for messages.
    pub file: Arc<str>,
}

/// The jobs of one or more job files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobCatalog {
    jobs: BTreeMap<String, JobDefinition>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    jobs: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    title: Option<String>,
    #[serde(rename = "type")]
    job_type: JobType,
    model: Option<String>,
    #[serde(default)]
    steps: Vec<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    name: String,
    title: Option<String>,
    reader: String,
    processor: String,
    writer: String,
    batch_size: Option<i64>,
    #[serde(default)]
    parameters: Option<toml::Table>,
}

impl JobCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        JobCatalog::default()
    }

    /// Parses a job file. `file` names it in errors (use the crate and path, never a
    /// machine path).
    ///
    /// ```
    /// use sync_core::batch::{JobCatalog, JobType};
    /// let catalog = JobCatalog::parse("demo/jobs.toml", r#"
    ///     [jobs.demo_import]
    ///     type = "import"
    ///     [[jobs.demo_import.steps]]
    ///     name = "import"
    ///     reader = "remote_paging"
    ///     processor = "pass_through"
    ///     writer = "demo.writer"
    /// "#)?;
    /// let job = catalog.get("demo_import").expect("declared above");
    /// assert_eq!(job.job_type, JobType::Import);
    /// assert_eq!(job.steps[0].batch_size, 100);
    /// # Ok::<(), sync_core::batch::DefinitionError>(())
    /// ```
    ///
    /// # Errors
    /// A syntax error, an unknown key, a missing reader/processor/writer, a batch size below
    /// one, a job without steps or two steps of one name, naming the file, job and step.
    pub fn parse(file: &str, text: &str) -> Result<JobCatalog, DefinitionError> {
        let mut catalog = JobCatalog::new();
        catalog.add_file(file, text)?;
        Ok(catalog)
    }

    /// Parses another job file into this catalog; a job name already present is an error.
    pub fn add_file(&mut self, file: &str, text: &str) -> Result<(), DefinitionError> {
        let error = |job: Option<&str>, step: Option<&str>, message: String| DefinitionError {
            file: file.to_owned(),
            job: job.map(str::to_owned),
            step: step.map(str::to_owned),
            message,
        };
        let raw: RawFile =
            toml::from_str(text).map_err(|e| error(None, None, e.to_string().trim().to_owned()))?;
        let file_name: Arc<str> = file.into();
        for (name, value) in raw.jobs {
            let job: RawJob = value
                .try_into()
                .map_err(|e: toml::de::Error| error(Some(&name), None, e.message().to_owned()))?;
            if job.steps.is_empty() {
                return Err(error(Some(&name), None, "the job has no steps".into()));
            }
            let mut steps: Vec<StepDefinition> = Vec::with_capacity(job.steps.len());
            for (position, value) in job.steps.into_iter().enumerate() {
                // Name the step by its `name` when it has one, else by its position.
                let label = value
                    .get("name")
                    .and_then(toml::Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("#{}", position + 1));
                let step: RawStep = value.try_into().map_err(|e: toml::de::Error| {
                    error(Some(&name), Some(&label), e.message().to_owned())
                })?;
                let batch_size = match step.batch_size {
                    None => DEFAULT_BATCH_SIZE,
                    Some(n) if n >= 1 => usize::try_from(n).unwrap_or(DEFAULT_BATCH_SIZE),
                    Some(n) => {
                        return Err(error(
                            Some(&name),
                            Some(&label),
                            format!("batch_size must be at least 1, got {n}"),
                        ));
                    }
                };
                if steps.iter().any(|s| s.name == step.name) {
                    return Err(error(
                        Some(&name),
                        Some(&label),
                        "another step of this job has the same name".into(),
                    ));
                }
                for (role, usage) in [
                    ("reader", &step.reader),
                    ("processor", &step.processor),
                    ("writer", &step.writer),
                ] {
                    if usage.trim().is_empty() {
                        return Err(error(
                            Some(&name),
                            Some(&label),
                            format!("the {role} is empty"),
                        ));
                    }
                }
                let parameters = match step.parameters {
                    None => serde_json::Map::new(),
                    Some(table) => match serde_json::to_value(table) {
                        Ok(Value::Object(map)) => map,
                        Ok(_) | Err(_) => {
                            return Err(error(
                                Some(&name),
                                Some(&label),
                                "parameters must be a table of plain values".into(),
                            ));
                        }
                    },
                };
                steps.push(StepDefinition {
                    name: step.name,
                    title: step.title,
                    reader: step.reader,
                    processor: step.processor,
                    writer: step.writer,
                    batch_size,
                    parameters,
                });
            }
            if let Some(existing) = self.jobs.get(&name) {
                return Err(error(
                    Some(&name),
                    None,
                    format!("the job is already declared in {}", existing.file),
                ));
            }
            self.jobs.insert(
                name.clone(),
                JobDefinition {
                    name,
                    title: job.title,
                    job_type: job.job_type,
                    model: job.model,
                    steps,
                    file: file_name.clone(),
                },
            );
        }
        Ok(())
    }

    /// A job by name.
    pub fn get(&self, name: &str) -> Option<&JobDefinition> {
        self.jobs.get(name)
    }

    /// Every job, by name.
    pub fn jobs(&self) -> impl Iterator<Item = &JobDefinition> {
        self.jobs.values()
    }

    /// Checks that every component a job names is registered for the backend kind `kind`
    /// and the job's model (or `default_model` when the job names none), with the right
    /// type: a reader under the reader's name, and so on.
    ///
    /// Call it once the connector has registered its components, at start-up, so that a
    /// typo fails the application's start rather than the first sync.
    pub fn validate_job(
        &self,
        registry: &ComponentRegistry,
        kind: &str,
        job: &str,
        default_model: &str,
    ) -> Result<(), DefinitionError> {
        let Some(definition) = self.jobs.get(job) else {
            return Err(DefinitionError {
                file: "(catalog)".into(),
                job: Some(job.to_owned()),
                step: None,
                message: "no such job is declared".into(),
            });
        };
        let chain = registry.kinds().chain(kind);
        let model = definition.model.as_deref().unwrap_or(default_model);
        for step in &definition.steps {
            let problem = |role: &str, usage: &str, e: SyncError| DefinitionError {
                file: definition.file.to_string(),
                job: Some(definition.name.clone()),
                step: Some(step.name.clone()),
                message: format!("{role} `{usage}` cannot be resolved for model `{model}`: {e}"),
            };
            registry
                .lookup::<dyn ItemReader>(&chain, model, &step.reader)
                .map_err(|e| problem("reader", &step.reader, e))?;
            registry
                .lookup::<dyn ItemProcessor>(&chain, model, &step.processor)
                .map_err(|e| problem("processor", &step.processor, e))?;
            registry
                .lookup::<dyn ItemWriter>(&chain, model, &step.writer)
                .map_err(|e| problem("writer", &step.writer, e))?;
        }
        Ok(())
    }

    /// Validates every job that names its model, for the backend kind `kind`.
    pub fn validate(
        &self,
        registry: &ComponentRegistry,
        kind: &str,
    ) -> Result<(), DefinitionError> {
        for job in self.jobs.values() {
            if let Some(model) = &job.model {
                self.validate_job(registry, kind, &job.name, model)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [jobs.b_export]
        type = "export"
        model = "customer"
        [[jobs.b_export.steps]]
        name = "second"
        reader = "r"
        processor = "p"
        writer = "w"
        [[jobs.b_export.steps]]
        name = "first"
        reader = "r"
        processor = "p"
        writer = "w"
        batch_size = 2
        parameters = { fields = ["a", "b"], limit = 3 }
    "#;

    #[test]
    fn steps_keep_file_order_and_defaults() {
        let catalog = JobCatalog::parse("t/jobs.toml", GOOD).expect("valid");
        let job = catalog.get("b_export").expect("declared");
        let names: Vec<&str> = job.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["second", "first"]);
        assert_eq!(job.steps[0].batch_size, DEFAULT_BATCH_SIZE);
        assert_eq!(job.steps[1].batch_size, 2);
        assert_eq!(job.steps[1].parameters["limit"], serde_json::json!(3));
    }

    #[test]
    fn mistakes_name_file_job_and_step() {
        let missing_writer = r#"
            [jobs.j]
            type = "import"
            [[jobs.j.steps]]
            name = "s1"
            reader = "r"
            processor = "p"
        "#;
        let e = JobCatalog::parse("x/jobs.toml", missing_writer).unwrap_err();
        assert_eq!(
            (e.job.as_deref(), e.step.as_deref()),
            (Some("j"), Some("s1"))
        );
        assert!(
            e.to_string().contains("x/jobs.toml") && e.message.contains("writer"),
            "{e}"
        );

        let bad_type = "[jobs.j]\ntype = \"sideways\"\nsteps = []\n";
        let e = JobCatalog::parse("x/jobs.toml", bad_type).unwrap_err();
        assert_eq!(e.job.as_deref(), Some("j"));

        let zero = "[jobs.j]\ntype = \"import\"\n[[jobs.j.steps]]\nname = \"s\"\nreader = \"r\"\nprocessor = \"p\"\nwriter = \"w\"\nbatch_size = 0\n";
        let e = JobCatalog::parse("x/jobs.toml", zero).unwrap_err();
        assert!(e.message.contains("batch_size"), "{e}");

        let e = JobCatalog::parse("x/jobs.toml", "[jobs.j\n").unwrap_err();
        assert_eq!(e.job, None);
        assert!(e.to_string().starts_with("job file x/jobs.toml"), "{e}");

        let e = JobCatalog::parse("x/jobs.toml", "[jobs.j]\ntype = \"import\"\n").unwrap_err();
        assert!(e.message.contains("no steps"), "{e}");

        let mut catalog = JobCatalog::parse("a.toml", GOOD).expect("valid");
        let e = catalog.add_file("b.toml", GOOD).unwrap_err();
        assert!(e.message.contains("a.toml"), "{e}");
    }
}
