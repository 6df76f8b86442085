//! A report as rows of typed cells: what the page renders and the workbook
//! writes. The cell type decides both the text on the page and the Excel type
//! (a number stays a number, a date a real date, a share a percentage).

use std::fmt;

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A number shown with two decimals (an average score).
    Decimal(f64),
    /// A calendar day in the configured time zone.
    Date(jiff::civil::Date),
    /// A moment as a local date and time in the configured time zone
    /// (to the second, as the pages show it; a real date-time in the workbook).
    DateTime(jiff::civil::DateTime),
    /// A share between 0 and 1, shown as a percentage.
    Percent(f64),
    /// A length of time in milliseconds, shown as h:mm:ss.
    Duration(i64),
    /// Nothing to show (no data): "—" on the page, empty in the workbook.
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// `Some` as a duration, `None` as empty.
    pub fn duration(ms: Option<i64>) -> Cell {
        ms.map_or(Cell::Empty, Cell::Duration)
    }

    /// A stored instant as a local date-time in `tz`.
    pub fn time(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> Cell {
        Cell::DateTime(t.to_zoned(tz.clone()).datetime())
    }

    /// `part / whole` as a percentage, empty when `whole` is 0.
    pub fn share(part: u64, whole: u64) -> Cell {
        if whole == 0 {
            Cell::Empty
        } else {
            Cell::Percent(part as f64 / whole as f64)
        }
    }

    /// Is it a number (right-aligned on the page)?
    pub fn numeric(&self) -> bool {
        !matches!(self, Cell::Text(_) | Cell::Date(_) | Cell::DateTime(_))
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cell::Text(s) => f.write_str(s),
            Cell::Int(n) => write!(f, "{n}"),
            Cell::Decimal(x) => write!(f, "{x:.2}"),
            Cell::Date(d) => write!(f, "{}", d.strftime("%Y-%m-%d")),
            Cell::DateTime(t) => write!(f, "{}", t.strftime("%Y-%m-%d %H:%M:%S")),
            Cell::Percent(x) => write!(f, "{:.1}%", x * 100.0),
            Cell::Duration(ms) => {
                let s = (ms.max(&0) + 500) / 1000;
                write!(f, "{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
            }
            Cell::Empty => f.write_str("—"),
        }
    }
}

/// A column chart of some columns over the first one (分时统计).
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSpec {
    pub title: String,
    /// The columns drawn as series (the first column gives the categories).
    pub series: Vec<usize>,
}

/// A report's table: a sheet of its own in the workbook.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The sheet's name (Chinese, at most 31 characters).
    pub name: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// The 合计 row, when the report has one.
    pub total: Option<Vec<Cell>>,
    pub chart: Option<ChartSpec>,
}

impl Table {
    /// Does column `i` hold numbers (judged by its first row, or the 合计 row)?
    pub fn numeric_column(&self, i: usize) -> bool {
        self.rows
            .first()
            .or(self.total.as_ref())
            .and_then(|r| r.get(i))
            .is_some_and(Cell::numeric)
    }

    pub fn new(name: &str, headers: &[&str]) -> Table {
        Table {
            name: name.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            total: None,
            chart: None,
        }
    }
}
