//! The money documents as PDF, in Russian and Kazakh side by side (Russian
//! prevails, as the businesses' own offers say): an invoice for payment
//! with the seller's bank requisites, a receipt for a payment, and a
//! monthly act of completed work. The text is the document's legal content,
//! so it lives here with the rules, not in the site's locale files.

use tabys_accounts::organizers;
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp, calendar};
use tabys_render::Document;
use tabys_store::Db;

use crate::Book;
use crate::acts::Act;
use crate::config::{BillingConfig, Requisites};
use crate::invoices::Invoice;
use crate::payments::Payment;

/// The seller of a book: the operator's configured requisites, or the
/// organizer's legal profile.
pub async fn seller(db: &Db, cfg: &BillingConfig, book: Book) -> Result<Requisites> {
    match book.org_id() {
        None => Ok(cfg.operator.clone()),
        Some(org) => {
            let o = organizers::get(db, org).await?;
            Ok(Requisites {
                legal_name: o.profile.legal_name,
                bin: o.profile.iin_bin,
                address: o.profile.legal_address,
                iik: o.profile.iik,
                bik: o.profile.bik,
                bank: String::new(),
                kbe: o.profile.kbe,
            })
        }
    }
}

fn date(ms: i64) -> String {
    calendar::business_date(Timestamp(ms))
        .strftime("%d.%m.%Y")
        .to_string()
}

fn requisites(doc: &mut Document, r: &Requisites) {
    doc.key_value("Наименование / Атауы", &r.legal_name)
        .key_value("БИН/ИИН / БСН/ЖСН", &r.bin)
        .key_value("Адрес / Мекенжайы", &r.address)
        .key_value("ИИК / ЖСК", &r.iik)
        .key_value("БИК / БСК", &r.bik)
        .key_value("Кбе / ТБе", &r.kbe);
    if !r.bank.is_empty() {
        doc.key_value("Банк", &r.bank);
    }
}

fn render(doc: &Document) -> Result<Vec<u8>> {
    doc.to_pdf()
        .map_err(|e| Error::Internal(format!("PDF: {e}")))
}

fn amount(m: Money) -> String {
    m.format_kzt()
}

/// Счёт на оплату / Төлем шоты.
pub fn invoice_pdf(inv: &Invoice, seller: &Requisites) -> Result<Vec<u8>> {
    let mut doc = Document::new(format!("Счёт на оплату № {} / Төлем шоты", inv.number));
    doc.key_value("Дата / Күні", date(inv.created_at));
    doc.heading("Поставщик / Жеткізуші");
    requisites(&mut doc, seller);
    doc.heading("Покупатель / Сатып алушы")
        .key_value("Наименование / Атауы", &inv.payer_name)
        .key_value("БИН/ИИН / БСН/ЖСН", &inv.payer_iin_bin);
    doc.heading("Услуга / Қызмет")
        .key_value(
            "Пополнение лицевого счёта / Дербес шотты толықтыру",
            amount(inv.amount),
        )
        .key_value("Итого к оплате / Барлығы төлеуге", amount(inv.amount))
        .key_value("Назначение платежа / Төлем мақсаты", inv.purpose());
    doc.note("Баланс пополняется после фактического поступления денег на счёт поставщика, в срок до 72 часов. / Баланс ақша жеткізушінің шотына нақты түскеннен кейін 72 сағатқа дейін толықтырылады.");
    render(&doc)
}

/// Квитанция об оплате / Төлем түбіртегі.
pub fn receipt_pdf(p: &Payment, seller: &Requisites, order_title: Option<&str>) -> Result<Vec<u8>> {
    let mut doc = Document::new(format!("Квитанция № {} / Түбіртек", p.reference()));
    doc.key_value("Дата / Күні", date(p.completed_at.unwrap_or(p.created_at)));
    doc.heading("Получатель / Алушы");
    requisites(&mut doc, seller);
    doc.heading("Платёж / Төлем")
        .key_value("Способ / Тәсілі", &p.method)
        .key_value("Сумма / Сомасы", amount(p.amount));
    if p.fee.is_positive() {
        doc.key_value(
            "В т. ч. комиссия платёжной системы / Оның ішінде комиссия",
            amount(p.fee),
        );
    }
    if let Some(title) = order_title {
        doc.key_value("За / Не үшін", title);
    }
    if let Some(r) = &p.provider_ref {
        doc.key_value("Номер операции / Операция нөмірі", r);
    }
    render(&doc)
}

/// Акт выполненных работ (оказанных услуг) / Орындалған жұмыстар актісі.
pub fn act_pdf(act: &Act, seller: &Requisites, customer: &Requisites) -> Result<Vec<u8>> {
    let mut doc = Document::new(format!(
        "Акт выполненных работ № {} / Орындалған жұмыстар актісі",
        act.number
    ));
    doc.key_value("Период / Кезең", &act.period)
        .key_value("Дата / Күні", date(act.created_at));
    doc.heading("Исполнитель / Орындаушы");
    requisites(&mut doc, seller);
    doc.heading("Заказчик / Тапсырыс беруші");
    requisites(&mut doc, customer);
    doc.heading("Услуги / Қызметтер")
        .key_value(
            "Услуги платформы за период / Кезеңдегі платформа қызметтері",
            amount(act.amount),
        )
        .key_value("Итого / Барлығы", amount(act.amount));
    doc.paragraph(format!(
        "Заказчик подписывает акт или направляет мотивированный отказ до {}; иначе услуги считаются принятыми, а акт подписанным (п. 6.9). / Тапсырыс беруші актіге {} дейін қол қояды немесе дәлелді бас тарту жібереді; әйтпесе қызметтер қабылданды деп есептеледі.",
        act.respond_by, act.respond_by
    ));
    doc.key_value("Статус / Мәртебесі", &act.status);
    render(&doc)
}
