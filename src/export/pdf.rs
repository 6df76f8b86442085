//! A transcript as a PDF (F6): pure — a loaded [`Transcript`] and the font in,
//! bytes out; no database, no files. A4 pages with a header block (account,
//! follower, agents, period, who exported it and when), one entry per message,
//! note or conversation step, images scaled to the text width, and
//! 第 N 页 / 共 M 页 at the foot of every page. Every word of ours is drawn
//! from the catalogue (`exports.ftl`) in the current language, so a caller
//! on the blocking pool runs this inside [`crate::i18n::sync_scope`].
//!
//! Text goes through [`text::printable`] (face codes named, glyphs the font
//! lacks replaced) and [`text::wrap`] (Chinese line breaking) before it is
//! placed; printpdf subsets the font to the glyphs used when saving.

use super::table::{Cell, Table};
use super::text;
use printpdf::{
    Color, FontId, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle, PdfPage,
    PdfSaveOptions, Point, Pt, RawImage, Rect, Rgb, TextItem, XObjectTransform,
};

/// Everything a transcript shows, already loaded and formatted.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    /// `会话记录 #12` or `历史消息`, in the exporting user's language.
    pub title: String,
    pub account: String,
    /// The follower's name as agents know it (remark, or WeChat remark).
    pub follower: String,
    pub openid: String,
    pub agents: Vec<String>,
    /// `2026-01-31 09:00 至 2026-01-31 09:40`.
    pub period: String,
    /// A search result's filters (name, value). When there are any, the
    /// header lists them in place of the account, customer, OpenID, agents
    /// and period of one conversation.
    pub filters: Vec<(String, String)>,
    pub exported_at: String,
    pub exported_by: String,
    pub entries: Vec<Entry>,
}

/// One message, note or step.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Local time, `2026-01-31 09:12`.
    pub time: String,
    pub who: Who,
    /// The text (may be empty for a bare image); face codes are fine.
    pub text: String,
    /// An image's file, shown under the text.
    pub image: Option<Vec<u8>>,
}

/// Who an entry is from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    Follower,
    Agent(String),
    /// kefu's own automatic replies.
    Auto,
    /// An internal note by this agent (never seen by the follower).
    Note(String),
    /// A conversation step: accepted, transferred, ended…
    Step,
}

impl Who {
    fn label(&self) -> String {
        match self {
            Who::Follower => crate::t("exp-who-follower"),
            Who::Agent(n) => crate::t1("exp-who-agent", "name", n),
            Who::Auto => crate::t("exp-who-auto"),
            Who::Note(n) => crate::t1("exp-who-note", "name", n),
            Who::Step => crate::t("exp-who-step"),
        }
    }

    fn color(&self) -> Color {
        match self {
            Who::Follower => rgb(0x1a, 0x5f, 0xb4),
            Who::Agent(_) => rgb(0x26, 0x8a, 0x50),
            Who::Auto => rgb(0x6a, 0x6a, 0x6a),
            Who::Note(_) => rgb(0xb3, 0x4a, 0x00),
            Who::Step => rgb(0x6a, 0x6a, 0x6a),
        }
    }
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN_X: f32 = 48.0;
const TOP: f32 = PAGE_H - 48.0;
const BOTTOM: f32 = 56.0;
const BODY: f32 = 10.5;
const BODY_LH: f32 = 15.5;
const META: f32 = 8.5;
const META_LH: f32 = 13.0;
const INDENT: f32 = 14.0;
const IMAGE_MAX_H: f32 = 320.0;

fn rgb(r: u8, g: u8, b: u8) -> Color {
    Color::Rgb(Rgb {
        r: f32::from(r) / 255.0,
        g: f32::from(g) / 255.0,
        b: f32::from(b) / 255.0,
        icc_profile: None,
    })
}

/// Pages being filled from the top down.
struct Layout<'f> {
    font: &'f ParsedFont,
    font_id: FontId,
    units: f32,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout<'_> {
    fn has_glyph(&self, ch: char) -> bool {
        ch == ' '
            || self
                .font
                .lookup_glyph_index(ch as u32)
                .is_some_and(|g| g != 0)
    }

    fn width(&self, ch: char, size: f32) -> f32 {
        let g = self.font.lookup_glyph_index(ch as u32).unwrap_or(0);
        f32::from(self.font.get_horizontal_advance(g)) / self.units * size
    }

    fn text_width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.width(c, size)).sum()
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Starts a new page unless `height` still fits.
    fn room(&mut self, height: f32) {
        if self.pages.is_empty() || self.y - height < BOTTOM {
            self.pages.push(Vec::new());
            self.y = TOP;
        }
    }

    fn put(&mut self, x: f32, y: f32, size: f32, color: Color, s: String) {
        let font = PdfFontHandle::External(self.font_id.clone());
        self.ops().extend([
            Op::StartTextSection,
            Op::SetFont {
                font,
                size: Pt(size),
            },
            Op::SetFillColor { col: color },
            Op::SetTextCursor {
                pos: Point { x: Pt(x), y: Pt(y) },
            },
            Op::ShowText {
                items: vec![TextItem::Text(s)],
            },
            Op::EndTextSection,
        ]);
    }

    fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, color: Color) {
        let mut rect = Rect::from_xywh(Pt(x), Pt(y), Pt(w), Pt(h));
        rect.mode = Some(PaintMode::Fill);
        self.ops().extend([
            Op::SetFillColor { col: color },
            Op::DrawRectangle { rectangle: rect },
        ]);
    }

    /// Wrapped lines of `s` at `x`, each on the page that has room for it,
    /// on a tinted band when `band` is given.
    fn paragraph(
        &mut self,
        s: &str,
        x: f32,
        size: f32,
        lh: f32,
        color: Color,
        band: Option<Color>,
    ) {
        let s = text::printable(s, |c| self.has_glyph(c));
        let max = PAGE_W - MARGIN_X - x;
        let lines = text::wrap(&s, max, |c| self.width(c, size));
        for line in lines {
            self.room(lh);
            self.y -= lh;
            if let Some(b) = &band {
                self.fill(x - 4.0, self.y - lh * 0.3, max + 8.0, lh, b.clone());
            }
            if !line.is_empty() {
                self.put(x, self.y, size, color.clone(), line);
            }
        }
    }

    fn rule(&mut self) {
        self.room(10.0);
        self.y -= 6.0;
        self.fill(
            MARGIN_X,
            self.y,
            PAGE_W - 2.0 * MARGIN_X,
            0.6,
            rgb(0xbb, 0xbb, 0xbb),
        );
        self.y -= 6.0;
    }

    /// The title and the `key：value` lines under it, then a rule.
    fn header(&mut self, title: &str, lines: &[(String, &str)]) {
        self.room(30.0);
        self.y -= 18.0;
        let title = text::printable(title, |c| self.has_glyph(c));
        self.put(MARGIN_X, self.y, 16.0, rgb(0x1e, 0x1e, 0x1e), title);
        self.y -= 6.0;
        for (k, v) in lines {
            self.paragraph(
                &crate::t2("exp-field", "name", k, "value", *v),
                MARGIN_X,
                9.5,
                14.0,
                rgb(0x55, 0x55, 0x55),
                None,
            );
        }
        self.rule();
    }

    /// The pages, each with 第 N 页 / 共 M 页 at its foot now that the count is known.
    fn finish(mut self) -> Vec<PdfPage> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let grey = rgb(0x55, 0x55, 0x55);
        let total = self.pages.len();
        let feet: Vec<(String, f32)> = (1..=total)
            .map(|n| {
                let foot = crate::t2("exp-page-foot", "n", n, "total", total);
                let x = (PAGE_W - self.text_width(&foot, 8.5)) / 2.0;
                (foot, x)
            })
            .collect();
        let font = PdfFontHandle::External(self.font_id.clone());
        self.pages
            .into_iter()
            .zip(feet)
            .map(|(mut ops, (foot, x))| {
                ops.extend([
                    Op::StartTextSection,
                    Op::SetFont {
                        font: font.clone(),
                        size: Pt(8.5),
                    },
                    Op::SetFillColor { col: grey.clone() },
                    Op::SetTextCursor {
                        pos: Point {
                            x: Pt(x),
                            y: Pt(28.0),
                        },
                    },
                    Op::ShowText {
                        items: vec![TextItem::Text(foot)],
                    },
                    Op::EndTextSection,
                ]);
                PdfPage::new(Mm(210.0), Mm(297.0), ops)
            })
            .collect()
    }

    fn image(&mut self, doc: &mut PdfDocument, bytes: &[u8]) -> bool {
        let Ok(img) = RawImage::decode_from_bytes(bytes, &mut Vec::new()) else {
            return false;
        };
        if img.width == 0 || img.height == 0 {
            return false;
        }
        let (pw, ph) = (img.width as f32, img.height as f32);
        let max_w = PAGE_W - MARGIN_X - (MARGIN_X + INDENT);
        // Scaled to the text width (never enlarged past 1 px = 1 pt), and not
        // taller than a third of a page.
        let scale = (max_w / pw).min(1.0).min(IMAGE_MAX_H / ph);
        let h = ph * scale;
        self.room(h + 6.0);
        self.y -= h + 4.0;
        let id = doc.add_image(&img);
        let y = self.y;
        self.ops().push(Op::UseXobject {
            id,
            transform: XObjectTransform {
                translate_x: Some(Pt(MARGIN_X + INDENT)),
                translate_y: Some(Pt(y)),
                scale_x: Some(scale),
                scale_y: Some(scale),
                dpi: Some(72.0),
                ..Default::default()
            },
        });
        self.y -= 2.0;
        true
    }
}

/// The transcript as PDF bytes, set in `font`.
pub fn render(t: &Transcript, font: &ParsedFont) -> Vec<u8> {
    let mut doc = PdfDocument::new(&t.title);
    let pages = lay_out(t, font, &mut doc);
    doc.with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut Vec::new())
}

impl<'f> Layout<'f> {
    fn new(font: &'f ParsedFont, doc: &mut PdfDocument) -> Layout<'f> {
        Layout {
            font,
            font_id: doc.add_font(font),
            units: f32::from(font.pdf_font_metrics.units_per_em.max(1)),
            pages: Vec::new(),
            y: TOP,
        }
    }
}

/// The pages of `t`, with the font and images added to `doc`.
fn lay_out(t: &Transcript, font: &ParsedFont, doc: &mut PdfDocument) -> Vec<PdfPage> {
    let mut l = Layout::new(font, doc);
    let ink = rgb(0x1e, 0x1e, 0x1e);
    let grey = rgb(0x55, 0x55, 0x55);

    let agents = if t.agents.is_empty() {
        crate::t("exp-none")
    } else {
        t.agents.join(&crate::t("console-list-separator"))
    };
    let mut fields: Vec<(String, &str)> = if t.filters.is_empty() {
        vec![
            (crate::t("exp-field-account"), t.account.as_str()),
            (crate::t("exp-field-follower"), t.follower.as_str()),
            ("OpenID".into(), t.openid.as_str()),
            (crate::t("exp-field-agents"), agents.as_str()),
            (crate::t("exp-field-period"), t.period.as_str()),
        ]
    } else {
        t.filters
            .iter()
            .map(|(name, value)| (name.clone(), value.as_str()))
            .collect()
    };
    fields.push((crate::t("exp-field-exported-at"), t.exported_at.as_str()));
    fields.push((crate::t("exp-field-exported-by"), t.exported_by.as_str()));
    l.header(&t.title, &fields);
    if t.entries.is_empty() {
        l.paragraph(
            &crate::t("exp-no-messages"),
            MARGIN_X,
            BODY,
            BODY_LH,
            grey.clone(),
            None,
        );
    }

    let note_band = rgb(0xff, 0xf3, 0xd6);
    for e in &t.entries {
        // Keep the meta line with at least one line of what follows.
        l.room(META_LH + BODY_LH + 4.0);
        l.y -= 4.0;
        if e.who == Who::Step {
            l.paragraph(
                &format!("{}  —— {} ——", e.time, e.text),
                MARGIN_X,
                META,
                META_LH,
                e.who.color(),
                None,
            );
            continue;
        }
        l.paragraph(
            &format!("{}  {}", e.time, e.who.label()),
            MARGIN_X,
            META,
            META_LH,
            e.who.color(),
            None,
        );
        let band = matches!(e.who, Who::Note(_)).then(|| note_band.clone());
        if !e.text.is_empty() {
            l.paragraph(&e.text, MARGIN_X + INDENT, BODY, BODY_LH, ink.clone(), band);
        }
        if let Some(bytes) = &e.image
            && !l.image(doc, bytes)
        {
            l.paragraph(
                &crate::t("exp-image-unshown"),
                MARGIN_X + INDENT,
                BODY,
                BODY_LH,
                grey.clone(),
                None,
            );
        }
    }

    l.finish()
}

/// A list like 会话标签 or 标注 as a PDF: the rows of its [`Table`] under a header
/// naming the list, its filters, and who exported it when.
#[derive(Clone, Debug)]
pub struct Listing {
    pub title: String,
    /// The list's filters as (name, value); the header says 全部 for none.
    pub filters: Vec<(String, String)>,
    pub exported_at: String,
    pub exported_by: String,
    pub table: Table,
    /// The columns that make an entry's first line (in this order); every
    /// other non-empty column follows as a `名称：值` line.
    pub heading: Vec<usize>,
}

/// The list as PDF bytes, set in `font`.
pub fn render_listing(list: &Listing, font: &ParsedFont) -> Vec<u8> {
    let mut doc = PdfDocument::new(&list.title);
    let pages = lay_out_listing(list, font, &mut doc);
    doc.with_pages(pages)
        .save(&PdfSaveOptions::default(), &mut Vec::new())
}

fn lay_out_listing(list: &Listing, font: &ParsedFont, doc: &mut PdfDocument) -> Vec<PdfPage> {
    let mut l = Layout::new(font, doc);
    let ink = rgb(0x1e, 0x1e, 0x1e);
    let grey = rgb(0x55, 0x55, 0x55);
    let filters = if list.filters.is_empty() {
        crate::t("exp-all")
    } else {
        list.filters
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(&crate::t("exp-filter-separator"))
    };
    let count = crate::t1("exp-rows", "n", list.table.rows.len());
    l.header(
        &list.title,
        &[
            (crate::t("exp-field-filters"), filters.as_str()),
            (crate::t("exp-field-count"), count.as_str()),
            (crate::t("exp-field-exported-at"), list.exported_at.as_str()),
            (crate::t("exp-field-exported-by"), list.exported_by.as_str()),
        ],
    );
    if list.table.rows.is_empty() {
        l.paragraph(
            &crate::t("exp-no-rows"),
            MARGIN_X,
            BODY,
            BODY_LH,
            grey.clone(),
            None,
        );
    }
    let band = rgb(0xee, 0xf2, 0xf7);
    for (i, row) in list.table.rows.iter().enumerate() {
        let cell = |c: usize| row.get(c).filter(|c| **c != Cell::Empty);
        // Keep the first line with at least one line of what follows.
        l.room(BODY_LH + META_LH + 6.0);
        l.y -= 4.0;
        let head: Vec<String> = list
            .heading
            .iter()
            .filter_map(|c| cell(*c))
            .map(|c| c.to_string())
            .collect();
        l.paragraph(
            &crate::t2("exp-list-item", "n", i + 1, "head", head.join(" · ")),
            MARGIN_X,
            BODY,
            BODY_LH,
            ink.clone(),
            Some(band.clone()),
        );
        for (c, name) in list.table.headers.iter().enumerate() {
            if list.heading.contains(&c) {
                continue;
            }
            if let Some(v) = cell(c) {
                l.paragraph(
                    &crate::t2("exp-field", "name", name, "value", v.to_string()),
                    MARGIN_X + INDENT,
                    BODY,
                    BODY_LH,
                    grey.clone(),
                    None,
                );
            }
        }
    }
    l.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript(n: usize) -> Transcript {
        let who = |i: usize| match i % 4 {
            0 => Who::Follower,
            1 => Who::Agent("小王".into()),
            2 => Who::Note("小王".into()),
            _ => Who::Step,
        };
        Transcript {
            title: "会话记录 #1".into(),
            account: "测试公众号".into(),
            follower: "张三".into(),
            openid: "oABC".into(),
            agents: vec!["小王".into()],
            period: "2026-01-31 09:00 至 2026-01-31 10:00".into(),
            filters: Vec::new(),
            exported_at: "2026-02-01 08:00".into(),
            exported_by: "小王（wang）".into(),
            entries: (0..n)
                .map(|i| Entry {
                    time: "2026-01-31 09:00".into(),
                    who: who(i),
                    text: format!("第{i}条：您好，请问订单什么时候发货？/::)👍 order ABC-{i}"),
                    image: None,
                })
                .collect(),
        }
    }

    fn texts(pages: &[PdfPage]) -> Vec<String> {
        pages
            .iter()
            .flat_map(|p| p.ops.iter())
            .filter_map(|op| match op {
                Op::ShowText { items } => Some(
                    items
                        .iter()
                        .map(|i| match i {
                            TextItem::Text(t) => t.clone(),
                            _ => String::new(),
                        })
                        .collect(),
                ),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn long_transcripts_flow_onto_numbered_pages() {
        let font = crate::export::font::transcript();
        let mut doc = PdfDocument::new("t");
        let pages = lay_out(&transcript(200), font, &mut doc);
        assert!(pages.len() > 5, "{}", pages.len());
        let all = texts(&pages);
        let n = pages.len();
        assert!(all.contains(&format!("第 1 页 / 共 {n} 页")));
        assert!(all.contains(&format!("第 {n} 页 / 共 {n} 页")));
        assert!(all.iter().any(|t| t.contains("[微笑][强]")), "faces named");
        assert!(all.iter().any(|t| t.contains("【内部备注】小王")));
        // Nothing the font cannot draw reaches the page.
        for t in &all {
            for ch in t.chars() {
                assert!(
                    ch == ' ' || font.lookup_glyph_index(ch as u32).is_some_and(|g| g != 0),
                    "{ch:?} in {t}"
                );
            }
        }
    }

    #[test]
    fn an_empty_transcript_is_one_page_that_says_so() {
        let font = crate::export::font::transcript();
        let mut doc = PdfDocument::new("t");
        let pages = lay_out(&transcript(0), font, &mut doc);
        assert_eq!(pages.len(), 1);
        assert!(texts(&pages).iter().any(|t| t == "该时间段没有消息。"));
        let bytes = render(&transcript(3), font);
        assert!(bytes.starts_with(b"%PDF"));
    }

    #[test]
    fn the_words_of_ours_follow_the_language() {
        use crate::i18n::{Lang, sync_scope};
        let font = crate::export::font::transcript();
        let mut t = transcript(5);
        t.title = "Conversation #1".into();
        (t.account, t.follower, t.period) = ("Shop".into(), "Alice".into(), "today".into());
        (t.exported_by, t.agents) = ("Amy (amy)".into(), vec!["Amy".into()]);
        for (i, e) in t.entries.iter_mut().enumerate() {
            e.text = format!("Hello {i} /::)👍");
            if let Who::Agent(n) | Who::Note(n) = &mut e.who {
                *n = "Amy".into();
            }
        }
        t.entries[0].image = Some(b"not a picture".to_vec());
        let mut doc = PdfDocument::new("t");
        let all = texts(&sync_scope(Lang::En, || lay_out(&t, font, &mut doc)));
        for line in [
            "Official account: Shop",
            "Customer: Alice",
            "Agents: Amy",
            "Exported by: Amy (amy)",
            "[Image cannot be shown]",
            "[Internal note] Amy",
            "Page 1 of 1",
            "Hello 1 [Smile][Thumbs up]",
        ] {
            assert!(all.iter().any(|l| l.contains(line)), "{line} in {all:?}");
        }
        let cjk = |s: &String| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        assert!(!all.iter().any(cjk), "{all:?}");
        let zh = texts(&lay_out(&t, font, &mut doc));
        assert!(zh.contains(&"第 1 页 / 共 1 页".to_string()), "{zh:?}");
        assert!(zh.iter().any(|l| l == "客户：Alice"), "{zh:?}");

        let mut table = Table::new("Tags", &["Tag", "Note"]);
        table
            .rows
            .push(vec![Cell::text("praise"), Cell::text("kind")]);
        let list = Listing {
            title: "Tagged conversations".into(),
            filters: vec![
                ("Tag".into(), "praise".into()),
                ("Agent".into(), "Amy".into()),
            ],
            exported_at: "2026-11-21 08:00".into(),
            exported_by: "Amy (amy)".into(),
            table,
            heading: vec![0],
        };
        let all = texts(&sync_scope(Lang::En, || {
            lay_out_listing(&list, font, &mut doc)
        }));
        for line in [
            "Filters: Tag praise; Agent Amy",
            "Rows: 1 row",
            "1. praise",
            "Note: kind",
        ] {
            assert!(all.contains(&line.to_string()), "{line} in {all:?}");
        }
        assert!(!all.iter().any(cjk), "{all:?}");
    }

    #[test]
    fn a_listing_is_one_block_per_row_in_order() {
        let font = crate::export::font::transcript();
        let mut table = Table::new("会话标签", &["标签", "客户", "备注", "时间"]);
        for i in 0..120 {
            table.rows.push(vec![
                Cell::text("投诉"),
                Cell::text(format!("客户{i}")),
                if i % 2 == 0 {
                    Cell::text("回复太慢，请尽快处理")
                } else {
                    Cell::Empty
                },
                Cell::text("2026-11-20 10:00:00"),
            ]);
        }
        let list = Listing {
            title: "会话标签列表".into(),
            filters: vec![("标签".into(), "投诉".into())],
            exported_at: "2026-11-21 08:00".into(),
            exported_by: "小王（wang）".into(),
            table,
            heading: vec![3, 0, 1],
        };
        let mut doc = PdfDocument::new("t");
        let pages = lay_out_listing(&list, font, &mut doc);
        assert!(pages.len() > 2, "{}", pages.len());
        let all = texts(&pages);
        assert!(all.contains(&"筛选条件：标签 投诉".to_string()), "{all:?}");
        let firsts: Vec<&String> = all.iter().filter(|t| t.contains("．2026")).collect();
        assert_eq!(firsts.len(), 120);
        assert_eq!(firsts[0], "1．2026-11-20 10:00:00 · 投诉 · 客户0");
        assert_eq!(firsts[119], "120．2026-11-20 10:00:00 · 投诉 · 客户119");
        let notes = all.iter().filter(|t| t.starts_with("备注：")).count();
        assert_eq!(notes, 60, "empty cells are left out");
        let n = pages.len();
        assert!(all.contains(&format!("第 {n} 页 / 共 {n} 页")));
        assert!(render_listing(&list, font).starts_with(b"%PDF"));
    }
}
