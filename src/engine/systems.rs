//! The configured systems, opened on first use: a BLOCKed run never touches one.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::Value as Json;

use crate::config::{Config, SystemConfig};
use crate::connectors::filesystem::FilesystemConnector;
use crate::connectors::sqlite::SqliteConnector;
use crate::connectors::{Connector, ConnectorError};
use crate::policy::eval::Lookups;
use crate::policy::value::Value;

pub struct Systems<'c> {
    config: &'c Config,
    opened: RefCell<BTreeMap<String, Rc<dyn Connector>>>,
}

impl<'c> Systems<'c> {
    pub fn new(config: &'c Config) -> Self {
        Systems {
            config,
            opened: RefCell::default(),
        }
    }

    pub fn config(&self, name: &str) -> Option<&'c SystemConfig> {
        self.config.systems.get(name)
    }

    /// The connector of a configured system, opened once.
    pub fn get(&self, name: &str) -> Result<Rc<dyn Connector>, ConnectorError> {
        if let Some(connector) = self.opened.borrow().get(name) {
            return Ok(Rc::clone(connector));
        }
        let system = self
            .config(name)
            .ok_or_else(|| ConnectorError::Refused(format!("no system `{name}` is configured")))?;
        let connector = open(name, system)?;
        self.opened
            .borrow_mut()
            .insert(name.to_string(), Rc::clone(&connector));
        Ok(connector)
    }
}

fn open(name: &str, system: &SystemConfig) -> Result<Rc<dyn Connector>, ConnectorError> {
    let missing = |key: &str| {
        ConnectorError::Refused(format!(
            "system `{name}` ({}) has no `{key}` configured",
            system.connector
        ))
    };
    match system.connector.as_str() {
        "filesystem" => {
            let base = system.base_dir.clone().ok_or_else(|| missing("base_dir"))?;
            Ok(Rc::new(FilesystemConnector::new(base)?))
        }
        "sqlite" => {
            let path = system.path.clone().ok_or_else(|| missing("path"))?;
            Ok(Rc::new(SqliteConnector::open(path)?))
        }
        other => Err(ConnectorError::Refused(format!(
            "system `{name}`: connector `{other}` is not available in this build"
        ))),
    }
}

impl Lookups for Systems<'_> {
    fn lookup(&self, system: &str, query: &str, args: &Value) -> Result<Value, String> {
        let connector = self.get(system).map_err(|e| e.to_string())?;
        let answer: Json = connector
            .lookup(query, &args.to_json())
            .map_err(|e| e.to_string())?;
        Ok(Value::from(&answer))
    }
}
