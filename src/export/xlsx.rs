//! Workbooks (issue 10): a [`Table`] as an .xlsx file with a Chinese sheet
//! name, a bold frozen header row, columns wide enough for their text, real
//! Excel dates, the 合计 row in bold and, where the page has one, a native
//! chart. Worksheets are written in constant-memory mode (rows stream to a
//! temporary file in the data folder), so a 90-day export stays small in RAM.

use super::table::{Cell, Table};
use rust_xlsxwriter::{Chart, ChartType, ExcelDateTime, Format, Workbook, XlsxError};
use std::path::Path;

/// The MIME type of a workbook.
pub const CONTENT_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The display width of `s` in Excel's character units (CJK counts double).
fn width(s: &str) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { 1.0 } else { 2.1 })
        .sum::<f64>()
}

/// Writes `tables` as a workbook, a sheet each; temporary files go to `tempdir`.
pub fn write(tables: &[Table], tempdir: &Path) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    book.set_tempdir(tempdir)?;
    for table in tables {
        add_sheet(&mut book, table)?;
    }
    book.save_to_buffer()
}

fn add_sheet(book: &mut Workbook, table: &Table) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let datetime = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let percent = Format::new().set_num_format("0.0%");
    let decimal = Format::new().set_num_format("0.00");
    let duration = Format::new().set_num_format("[h]:mm:ss");
    let total_fmt = |f: &Format| f.clone().set_bold();

    let sheet = book.add_worksheet_with_constant_memory()?;
    sheet.set_name(&table.name)?;
    // Widths first: in constant-memory mode rows are written once, in order.
    for (col, header) in table.headers.iter().enumerate() {
        let cells = table.rows.iter().chain(table.total.iter());
        let w = cells
            .filter_map(|r| r.get(col))
            .map(|c| width(&c.to_string()))
            .fold(width(header), f64::max);
        sheet.set_column_width(col as u16, (w + 2.0).clamp(8.0, 60.0))?;
    }
    sheet.set_freeze_panes(1, 0)?;
    for (col, header) in table.headers.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, header, &bold)?;
    }
    let rows = table
        .rows
        .iter()
        .map(|r| (r, false))
        .chain(table.total.iter().map(|r| (r, true)));
    for (i, (row, is_total)) in rows.enumerate() {
        let r = (i + 1) as u32;
        for (col, cell) in row.iter().enumerate() {
            let col = col as u16;
            let plain = Format::new();
            let pick = |f: &Format| if is_total { total_fmt(f) } else { f.clone() };
            match cell {
                Cell::Text(s) => sheet.write_string_with_format(r, col, s, &pick(&plain))?,
                Cell::Int(n) => sheet.write_number_with_format(r, col, *n as f64, &pick(&plain))?,
                Cell::Decimal(x) => sheet.write_number_with_format(r, col, *x, &pick(&decimal))?,
                Cell::Percent(x) => sheet.write_number_with_format(r, col, *x, &pick(&percent))?,
                Cell::Duration(ms) => sheet.write_number_with_format(
                    r,
                    col,
                    (*ms as f64 / 1000.0).round() / 86_400.0,
                    &pick(&duration),
                )?,
                Cell::Date(d) => {
                    let x =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                    sheet.write_datetime_with_format(r, col, &x, &pick(&date))?
                }
                Cell::DateTime(t) => {
                    // Whole seconds: the sub-second part would only add noise.
                    let t = t.with().subsec_nanosecond(0).build().unwrap_or(*t);
                    sheet.write_datetime_with_format(r, col, t, &pick(&datetime))?
                }
                Cell::Empty => sheet.write_blank(r, col, &pick(&plain))?,
            };
        }
    }
    if let Some(spec) = &table.chart {
        let last = table.rows.len() as u32;
        let mut chart = Chart::new(ChartType::Column);
        chart.title().set_name(&spec.title);
        for col in &spec.series {
            let col = *col as u16;
            chart
                .add_series()
                .set_name((table.name.as_str(), 0, col))
                .set_categories((table.name.as_str(), 1, 0, last, 0))
                .set_values((table.name.as_str(), 1, col, last, col));
        }
        chart.set_width(720).set_height(360);
        sheet.insert_chart(1, (table.headers.len() + 1) as u16, &chart)?;
    }
    Ok(())
}

/// `Content-Disposition` for a download named `name` (UTF-8, RFC 5987).
pub fn disposition(name: &str) -> String {
    super::attachment(name, "report.xlsx")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::table::ChartSpec;

    #[test]
    fn a_table_becomes_a_workbook_with_its_chart() {
        let mut t = Table::new("分时统计", &["时段", "排队量"]);
        t.rows.push(vec![Cell::text("00"), Cell::Int(3)]);
        t.rows.push(vec![Cell::text("01"), Cell::Percent(0.5)]);
        t.total = Some(vec![Cell::text("合计"), Cell::Int(3)]);
        t.chart = Some(ChartSpec {
            title: "分时统计".into(),
            series: vec![1],
        });
        let dir = std::env::temp_dir();
        let bytes = write(&[t], &dir).expect("workbook");
        assert!(bytes.starts_with(b"PK"), "a zip file");
        assert_eq!(
            disposition("工作量.xlsx"),
            "attachment; filename=\"report.xlsx\"; filename*=UTF-8''%E5%B7%A5%E4%BD%9C%E9%87%8F.xlsx"
        );
    }
}
