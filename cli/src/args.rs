//! A small argument reader: flags with values, boolean switches, positionals.

pub struct Args {
    rest: Vec<String>,
}

impl Args {
    pub fn new(argv: Vec<String>) -> Self {
        Self { rest: argv }
    }

    pub fn subcommand(&mut self) -> Option<String> {
        if self.rest.is_empty() {
            None
        } else {
            Some(self.rest.remove(0))
        }
    }

    /// `--name VALUE` (or `-s VALUE` when `short` is given).
    pub fn value(&mut self, name: &str, short: Option<&str>) -> Result<Option<String>, String> {
        let Some(i) = self
            .rest
            .iter()
            .position(|a| a == name || Some(a.as_str()) == short)
        else {
            return Ok(None);
        };
        if i + 1 >= self.rest.len() {
            return Err(format!("{name} needs a value"));
        }
        let v = self.rest.remove(i + 1);
        self.rest.remove(i);
        Ok(Some(v))
    }

    pub fn parsed<T: std::str::FromStr>(&mut self, name: &str, default: T) -> Result<T, String> {
        match self.value(name, None)? {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("{name}: cannot parse '{v}'")),
        }
    }

    pub fn switch(&mut self, name: &str) -> bool {
        match self.rest.iter().position(|a| a == name) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    /// Remaining positionals; errors on unknown flags.
    pub fn positionals(self) -> Result<Vec<String>, String> {
        if let Some(f) = self.rest.iter().find(|a| a.starts_with('-') && a.len() > 1) {
            return Err(format!("unknown option '{f}'"));
        }
        Ok(self.rest)
    }
}
