"""The readable invoice: a PDF/A-3b rendering of the canonical invoice for people to read.

This PDF is what Factur-X embeds the CII XML into (``formats/facturx``), and what a
buyer without an e-invoicing system prints. It shows every business term a reader needs,
in the buyer-facing language, with amounts and dates written the way that language
writes them. It is deterministic: the same invoice gives the same bytes, because the PDF
dates come from the invoice and ReportLab runs in invariant mode.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal
from urllib.parse import urlsplit

from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from formats import numbers
from formats.errors import SerializeError
from formats.invoice.calculate import calculate
from formats.invoice.model import (
    Address,
    Buyer,
    Contact,
    Invoice,
    InvoiceLine,
    Payee,
    Seller,
    TaxRepresentative,
)
from formats.pdf import labels
from formats.pdf.fonts import REGULAR, fonts, string_width
from formats.pdf.layout import (
    ACCENT,
    BLACK,
    BOTTOM,
    CONTENT_WIDTH,
    GREY,
    MARGIN_X,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Cell,
    Column,
    Layout,
    Link,
    Rule,
    Style,
    Text,
    draw,
    wrap,
)
from formats.pdf.pdfa import DocumentInfo, make_pdfa

BODY = Style(8.5)
BODY_BOLD = Style(8.5, True)
SMALL = Style(7.5, False, GREY)
LABEL = Style(7, False, GREY)
MAX_LINK_LENGTH = 2000


def render_pdf(invoice: Invoice, *, language: str | None = None, payment_link: str | None = None) -> bytes:
    """The invoice as a PDF/A-3b document (bytes), in ``language`` (default: the seller's).

    Derived amounts are computed first when the invoice lacks them (``calculate``), so both
    a calculated invoice and one straight from an ERP render the same figures. Raises
    ``SerializeError`` for an unsupported language or a payment link that is not an
    http(s) URL, and ``InvoiceProblems`` when derived amounts cannot be computed.
    """
    lang = _language(invoice, language)
    link = _payment_link(payment_link)
    if _needs_calculation(invoice):
        invoice = calculate(invoice)
    fonts()  # registered once per process
    page = _Renderer(invoice, lang, link)
    return page.render()


def _language(invoice: Invoice, language: str | None) -> str:
    if language is None:
        address = invoice.seller.address
        return labels.default_language(address.country_code, address.post_code)
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if code not in labels.LANGUAGES:
        raise SerializeError(
            f"the readable PDF cannot be written in {language!r}; supported languages: "
            + ", ".join(labels.LANGUAGES)
        )
    return code


def _payment_link(link: str | None) -> str | None:
    if link is None:
        return None
    parts = urlsplit(link.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc or any(c.isspace() for c in link.strip()):
        raise SerializeError(f"payment_link must be an http(s) URL without spaces, got {link[:80]!r}")
    if len(link) > MAX_LINK_LENGTH:
        raise SerializeError(f"payment_link is {len(link)} characters long; the limit is {MAX_LINK_LENGTH}")
    return link.strip()


def _needs_calculation(invoice: Invoice) -> bool:
    totals = invoice.totals
    if not invoice.lines:
        # A summary without lines (MINIMUM, BASIC WL) carries its totals; recomputing them
        # from no lines would print zeros.
        return totals.amount_due is None or totals.tax_inclusive_amount is None
    if totals.line_net_total is None or totals.tax_exclusive_amount is None or totals.amount_due is None:
        return True
    if totals.vat_total is None or totals.tax_inclusive_amount is None:
        return True
    if any(line.net_amount is None or line.price.net_amount is None for line in invoice.lines):
        return True
    if any(item.amount is None for item in (*invoice.allowances, *invoice.charges)):
        return True
    return not invoice.vat_breakdown or any(
        entry.taxable_amount is None or entry.tax_amount is None for entry in invoice.vat_breakdown
    )


def _join(parts: Iterable[str | None], separator: str = " ") -> str:
    return separator.join(p for p in parts if p)


class _Renderer:
    def __init__(self, invoice: Invoice, language: str, payment_link: str | None) -> None:
        self.invoice = invoice
        self.lang = language
        self.payment_link = payment_link
        self.currency = invoice.currency_code
        self.title = labels.title(invoice.type_code, language)
        # French sets a (no-break) space before a colon
        self.colon = "\u00a0: " if language == "fr" else ": "

    def t(self, key: str) -> str:
        return labels.label(key, self.lang)

    def money(self, value: Decimal | None) -> str:
        return "" if value is None else numbers.money(value, self.currency, self.lang)

    def day(self, value: object) -> str:
        from datetime import date

        return numbers.day(value, self.lang) if isinstance(value, date) else ""

    # ------------------------------------------------------------------ document

    def render(self) -> bytes:
        layout = Layout(self._continuation_header)
        self._header(layout)
        self._parties(layout)
        self._references(layout)
        self._lines(layout)
        self._allowances_charges(layout)
        self._vat(layout)
        self._totals_and_payment(layout)
        self._notes(layout)
        return self._write(layout)

    def _write(self, layout: Layout) -> bytes:
        invoice = self.invoice
        buffer = io.BytesIO()
        canvas = Canvas(
            buffer,
            pagesize=(PAGE_WIDTH, PAGE_HEIGHT),
            invariant=1,
            initialFontName=REGULAR,
            initialFontSize=9,
            pdfVersion=(1, 7),
            lang=self.lang,
        )
        title = f"{self.title} {invoice.number}"
        make_pdfa(
            canvas,
            DocumentInfo(
                title=fonts().clean(title),
                author=fonts().clean(invoice.seller.name),
                subject=fonts().clean(f"{self.title} {invoice.number} – {invoice.buyer.name}"),
                language=self.lang,
                day=invoice.issue_date,
            ),
        )
        total = len(layout.pages)
        for number, ops in enumerate(layout.pages, start=1):
            draw(canvas, [*ops, *self._footer(number, total)])
            canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    def _footer(self, page: int, pages: int) -> list[Text | Rule]:
        seller = self.invoice.seller
        y = BOTTOM - 14
        ops: list[Text | Rule] = [Rule(MARGIN_X, y + 8, MARGIN_X + CONTENT_WIDTH, y + 8, 0.5)]
        page_text = self.t("page").format(page=page, pages=pages)
        page_width = string_width(page_text, False, 7) + 10
        legal = _join(
            [
                seller.name,
                seller.additional_legal_information,
                f"{self.t('vat_id')} {seller.vat_identifier}" if seller.vat_identifier else None,
            ],
            " · ",
        )
        for i, line in enumerate(wrap(fonts().clean(legal), CONTENT_WIDTH - page_width, LABEL)[:3]):
            ops.append(Text(MARGIN_X, y - i * LABEL.leading, line, False, 7, "left", GREY))
        ops.append(Text(MARGIN_X + CONTENT_WIDTH, y, page_text, False, 7, "right", GREY))
        return ops

    def _continuation_header(self, layout: Layout) -> None:
        invoice = self.invoice
        style = Style(9, True, ACCENT)
        layout.text(MARGIN_X, f"{self.title} {invoice.number}", style)
        layout.text(
            MARGIN_X + CONTENT_WIDTH,
            f"{invoice.seller.name} → {invoice.buyer.name} · {self.day(invoice.issue_date)}",
            SMALL,
            "right",
        )
        layout.gap(style.leading + 8)

    # ------------------------------------------------------------------ header and parties

    def _header(self, layout: Layout) -> None:
        invoice = self.invoice
        seller = invoice.seller
        title_style = Style(20, True, ACCENT)
        layout.text(MARGIN_X + CONTENT_WIDTH, self.title, title_style, "right")
        right_width = max(string_width(fonts().clean(self.title), True, 20), 150.0)
        name_lines = wrap(fonts().clean(seller.name), CONTENT_WIDTH - right_width - 20, Style(14, True))
        y0 = layout.y
        for line in name_lines:
            layout.text(MARGIN_X, line, Style(14, True))
            layout.gap(14 * 1.2)
        if seller.trading_name:
            layout.text(MARGIN_X, seller.trading_name, SMALL)
            layout.gap(SMALL.leading)
        layout.y = min(layout.y, y0 - 26)
        number_line = f"{self.t('number')} {invoice.number}"
        layout.text(MARGIN_X + CONTENT_WIDTH, number_line, Style(10, True), "right", baseline=y0 - 36)
        layout.text(
            MARGIN_X + CONTENT_WIDTH,
            f"{self.t('issue_date')}{self.colon}{self.day(invoice.issue_date)}",
            BODY,
            "right",
            baseline=y0 - 49,
        )
        layout.y = min(layout.y, y0 - 56)
        layout.gap(6)

    def _party_cell(
        self,
        heading: str,
        party: Seller | Buyer | Payee | TaxRepresentative,
        width: float,
        home_country: str,
    ) -> Cell:
        cell = Cell()
        cell.add(heading.upper(), width, LABEL)
        cell.add(party.name, width, Style(9.5, True))
        trading = getattr(party, "trading_name", None)
        if trading:
            cell.add(trading, width, BODY)
        address: Address | None = getattr(party, "address", None)
        if address is not None:
            for line in self._address_lines(address, home_country):
                cell.add(line, width, BODY)
        vat = getattr(party, "vat_identifier", None)
        if vat:
            cell.add(f"{self.t('vat_id')}{self.colon}{vat}", width, BODY)
        tax_id = getattr(party, "tax_registration_identifier", None)
        if tax_id:
            cell.add(f"{self.t('tax_id')}{self.colon}{tax_id}", width, BODY)
        registration = getattr(party, "legal_registration", None)
        if registration is not None:
            cell.add(f"{self.t('registration')}{self.colon}{registration.value}", width, BODY)
        identifier = getattr(party, "identifier", None)
        if identifier is not None and isinstance(party, Buyer | Payee):
            cell.add(f"ID: {identifier.value}", width, BODY)
        contact: Contact | None = getattr(party, "contact", None)
        if contact is not None:
            if contact.name:
                cell.add(f"{self.t('contact')}{self.colon}{contact.name}", width, BODY)
            phone_mail = _join(
                [
                    f"{self.t('phone')} {contact.telephone}" if contact.telephone else None,
                    contact.email,
                ],
                " · ",
            )
            if phone_mail:
                cell.add(phone_mail, width, BODY)
        return cell

    @staticmethod
    def _address_lines(address: Address, home_country: str) -> list[str]:
        lines = [line for line in (address.line1, address.line2, address.line3) if line]
        city = _join([address.post_code, address.city, _paren(address.country_subdivision)])
        if city:
            lines.append(city)
        if address.country_code != home_country or not city:
            lines.append(address.country_code)
        return lines

    def _two_cells(self, layout: Layout, left: Cell | None, right: Cell | None, gap: float = 20.0) -> None:
        """Two cells side by side, kept together on one page."""
        width = (CONTENT_WIDTH - gap) / 2
        heights = [sum(style.leading for _, style in cell.lines) for cell in (left, right) if cell]
        height = max(heights, default=0.0)
        layout.need(height)
        top = layout.y
        for x, cell in ((MARGIN_X, left), (MARGIN_X + width + gap, right)):
            if cell is None:
                continue
            y = top
            for line, style in cell.lines:
                layout.ops.append(Text(x, y - style.size, line, style.bold, style.size, "left", style.colour))
                y -= style.leading
        layout.y = top - height

    def _parties(self, layout: Layout) -> None:
        invoice = self.invoice
        home = invoice.seller.address.country_code
        width = (CONTENT_WIDTH - 20) / 2
        layout.rule(0.8, ACCENT)
        layout.gap(8)
        self._two_cells(
            layout,
            self._party_cell(self.t("seller"), invoice.seller, width, home),
            self._party_cell(self.t("buyer"), invoice.buyer, width, home),
        )
        if invoice.payee is not None or invoice.tax_representative is not None:
            layout.gap(8)
            self._two_cells(
                layout,
                self._party_cell(self.t("payee"), invoice.payee, width, home) if invoice.payee else None,
                self._party_cell(self.t("tax_representative"), invoice.tax_representative, width, home)
                if invoice.tax_representative
                else None,
            )
        layout.gap(10)

    # ------------------------------------------------------------------ references

    def _reference_pairs(self) -> list[tuple[str, str]]:
        invoice = self.invoice
        pairs: list[tuple[str, str | None]] = [
            (self.t("number"), invoice.number),
            (self.t("issue_date"), self.day(invoice.issue_date)),
            (self.t("due_date"), self.day(invoice.due_date)),
            (self.t("tax_point_date"), self.day(invoice.tax_point_date)),
            (self.t("buyer_reference"), invoice.buyer_reference),
            (self.t("order"), invoice.purchase_order_reference),
            (self.t("sales_order"), invoice.sales_order_reference),
            (self.t("contract"), invoice.contract_reference),
            (self.t("project"), invoice.project_reference),
            (self.t("tender"), invoice.tender_or_lot_reference),
            (self.t("receiving_advice"), invoice.receiving_advice_reference),
            (self.t("despatch_advice"), invoice.despatch_advice_reference),
            (
                self.t("invoiced_object"),
                invoice.invoiced_object_identifier.value if invoice.invoiced_object_identifier else None,
            ),
            (self.t("accounting_reference"), invoice.buyer_accounting_reference),
        ]
        period = invoice.invoicing_period
        if period is not None:
            pairs.append((self.t("period"), self._period(period.start_date, period.end_date)))
        delivery = invoice.delivery
        if delivery is not None:
            pairs.append((self.t("delivery_date"), self.day(delivery.actual_delivery_date)))
            deliver_to = [delivery.party_name] if delivery.party_name else []
            if delivery.address is not None:
                deliver_to.extend(self._address_lines(delivery.address, invoice.seller.address.country_code))
            if delivery.location_identifier is not None:
                deliver_to.append(delivery.location_identifier.value)
            pairs.append((self.t("deliver_to"), ", ".join(deliver_to)))
        for preceding in invoice.preceding_invoices:
            pairs.append(
                (
                    self.t("preceding_invoice"),
                    _join(
                        [
                            preceding.reference,
                            f"({self.day(preceding.issue_date)})" if preceding.issue_date else None,
                        ]
                    ),
                )
            )
        return [(label, value) for label, value in pairs if value]

    def _period(self, start: object, end: object) -> str:
        return _join([self.day(start), "–" if start and end else None, self.day(end)])

    def _references(self, layout: Layout) -> None:
        pairs = self._reference_pairs()
        per_row = 4
        width = CONTENT_WIDTH / per_row
        layout.ops.append(Rule(MARGIN_X, layout.y, MARGIN_X + CONTENT_WIDTH, layout.y, 0.5))
        layout.gap(5)
        for start in range(0, len(pairs), per_row):
            cells = []
            for label, value in pairs[start : start + per_row]:
                cell = Cell()
                cell.add(label, width - 8, LABEL)
                cell.add(value, width - 8, BODY_BOLD)
                cells.append(cell)
            height = max(sum(s.leading for _, s in cell.lines) for cell in cells)
            layout.need(height)
            for i, cell in enumerate(cells):
                y = layout.y
                for line, style in cell.lines:
                    layout.ops.append(
                        Text(
                            MARGIN_X + i * width,
                            y - style.size,
                            line,
                            style.bold,
                            style.size,
                            "left",
                            style.colour,
                        )
                    )
                    y -= style.leading
            layout.gap(height + 5)
        layout.ops.append(Rule(MARGIN_X, layout.y, MARGIN_X + CONTENT_WIDTH, layout.y, 0.5))
        layout.gap(12)

    # ------------------------------------------------------------------ lines

    def _lines(self, layout: Layout) -> None:
        invoice = self.invoice
        if not invoice.lines:
            layout.paragraph(self.t("no_lines"), Style(9, False, GREY))
            layout.gap(10)
            return
        columns = [
            Column(self.t("col_no"), 26),
            Column(self.t("col_description"), 0),
            Column(self.t("col_quantity"), 50, "right"),
            Column(self.t("col_unit"), 38),
            Column(self.t("col_price"), 70, "right"),
            Column(self.t("col_vat"), 44, "right"),
            Column(self.t("col_amount"), 76, "right"),
        ]
        columns[1].width = CONTENT_WIDTH - sum(c.width for c in columns)
        rows = [self._line_row(line, columns) for line in invoice.lines]
        layout.table(columns, rows)
        layout.gap(12)

    def _line_row(self, line: InvoiceLine, columns: list[Column]) -> list[Cell]:
        lang = self.lang
        widths = [c.width - 6 for c in columns]
        item = line.item
        description = Cell()
        description.add(item.name, widths[1], BODY_BOLD)
        if item.description:
            description.add(item.description, widths[1], SMALL)
        ids = _join(
            [
                f"{self.t('item_id')} {item.sellers_identifier}" if item.sellers_identifier else None,
                f"{self.t('buyer_item_id')} {item.buyers_identifier}" if item.buyers_identifier else None,
                f"{self.t('standard_id')} {item.standard_identifier.value}"
                if item.standard_identifier
                else None,
                *(f"{c.scheme} {c.value}" for c in item.classifications),
                f"{self.t('origin')} {item.origin_country}" if item.origin_country else None,
                f"{self.t('order_line')} {line.order_line_reference}" if line.order_line_reference else None,
            ],
            " · ",
        )
        if ids:
            description.add(ids, widths[1], SMALL)
        for attribute in item.attributes:
            description.add(f"{attribute.name}: {attribute.value}", widths[1], SMALL)
        if line.period is not None:
            period = self._period(line.period.start_date, line.period.end_date)
            description.add(
                f"{self.t('line_period')}{self.colon}{period}",
                widths[1],
                SMALL,
            )
        if line.note:
            description.add(line.note, widths[1], SMALL)
        for kind, items, sign in (("allowance", line.allowances, "−"), ("charge", line.charges, "+")):
            for entry in items:
                detail = _join(
                    [
                        entry.reason or (entry.reason_code and f"({entry.reason_code})"),
                        numbers.percent(entry.percentage, lang) if entry.percentage is not None else None,
                    ]
                )
                amount = f"{sign} {self.money(entry.amount)}" if entry.amount is not None else ""
                description.add(f"{self.t(kind)}{self.colon}{_join([detail, amount])}", widths[1], SMALL)

        price = line.price
        price_cell = Cell()
        if price.net_amount is not None:
            price_cell.add(numbers.unit_price(price.net_amount, self.currency, lang), widths[4], BODY)
        if price.base_quantity is not None and price.base_quantity != 1:
            unit = labels.unit(price.base_quantity_unit_code or line.unit_code, lang)
            price_cell.add(
                f"{self.t('per')} {numbers.number(price.base_quantity, lang)} {unit}", widths[4], SMALL
            )
        if price.gross_amount is not None and price.discount:
            price_cell.add(numbers.unit_price(price.gross_amount, self.currency, lang), widths[4], SMALL)
            price_cell.add(f"− {numbers.unit_price(price.discount, self.currency, lang)}", widths[4], SMALL)

        vat = line.vat
        vat_text = numbers.percent(vat.rate, lang) if vat.rate is not None else ""
        vat_cell = Cell()
        vat_cell.add(
            vat_text if vat.category_code == "S" else _join([vat.category_code, vat_text]), widths[5], BODY
        )

        def single(text: str, width: float, style: Style = BODY) -> Cell:
            cell = Cell()
            cell.add(text, width, style)
            return cell

        return [
            single(line.id, widths[0], SMALL),
            description,
            single(numbers.number(line.quantity, lang), widths[2]),
            single(labels.unit(line.unit_code, lang), widths[3]),
            price_cell,
            vat_cell,
            single(self.money(line.net_amount), widths[6]),
        ]

    # ------------------------------------------------------------------ allowances, VAT

    def _allowances_charges(self, layout: Layout) -> None:
        invoice = self.invoice
        entries = [("allowance", a, "−") for a in invoice.allowances] + [
            ("charge", c, "") for c in invoice.charges
        ]
        if not entries:
            return
        layout.heading(self.t("allowances_charges"))
        columns = [
            Column("", 70),
            Column(self.t("reason"), 0),
            Column(self.t("col_vat"), 70, "right"),
            Column(self.t("base"), 80, "right"),
            Column("%", 45, "right"),
            Column(self.t("amount"), 80, "right"),
        ]
        columns[1].width = CONTENT_WIDTH - sum(c.width for c in columns)
        rows = []
        for kind, entry, sign in entries:
            values = [
                self.t(kind),
                entry.reason or (f"({entry.reason_code})" if entry.reason_code else ""),
                _join(
                    [
                        entry.vat_category_code,
                        numbers.percent(entry.vat_rate, self.lang) if entry.vat_rate is not None else None,
                    ]
                ),
                self.money(entry.base_amount),
                numbers.percent(entry.percentage, self.lang) if entry.percentage is not None else "",
                f"{sign}{self.money(entry.amount)}",
            ]
            row = []
            for column, value in zip(columns, values, strict=True):
                cell = Cell()
                cell.add(value, column.width - 6, BODY)
                row.append(cell)
            rows.append(row)
        layout.table(columns, rows)
        layout.gap(12)

    def _vat(self, layout: Layout) -> None:
        breakdown = self.invoice.vat_breakdown
        if not breakdown:
            return
        layout.heading(self.t("vat_breakdown"))
        columns = [
            Column(self.t("category"), 150),
            Column(self.t("rate"), 50, "right"),
            Column(self.t("taxable"), 85, "right"),
            Column(self.t("vat_amount"), 80, "right"),
            Column(self.t("exemption"), 0),
        ]
        columns[4].width = CONTENT_WIDTH - sum(c.width for c in columns)
        rows = []
        for entry in breakdown:
            values = [
                f"{entry.category_code} – {labels.category(entry.category_code, self.lang)}",
                numbers.percent(entry.rate, self.lang) if entry.rate is not None else "",
                self.money(entry.taxable_amount),
                self.money(entry.tax_amount),
                _join(
                    [
                        entry.exemption_reason,
                        f"({entry.exemption_reason_code})" if entry.exemption_reason_code else None,
                    ]
                ),
            ]
            row = []
            for column, value in zip(columns, values, strict=True):
                cell = Cell()
                cell.add(value, column.width - 6, BODY)
                row.append(cell)
            rows.append(row)
        layout.table(columns, rows)
        layout.gap(12)

    # ------------------------------------------------------------------ totals, payment, notes

    def _totals_cell(self, width: float) -> list[tuple[str, str, bool]]:
        invoice = self.invoice
        totals = invoice.totals
        rows: list[tuple[str, str, bool]] = []
        if invoice.lines:
            rows.append((self.t("line_total"), self.money(totals.line_net_total), False))
        if totals.allowance_total:
            rows.append((self.t("allowance_total"), f"−{self.money(totals.allowance_total)}", False))
        if totals.charge_total:
            rows.append((self.t("charge_total"), self.money(totals.charge_total), False))
        rows.append((self.t("tax_exclusive"), self.money(totals.tax_exclusive_amount), True))
        rows.append((self.t("vat_total"), self.money(totals.vat_total), False))
        if totals.vat_total_in_tax_currency is not None and invoice.tax_currency_code:
            rows.append(
                (
                    self.t("vat_total_tax_currency"),
                    numbers.money(totals.vat_total_in_tax_currency, invoice.tax_currency_code, self.lang),
                    False,
                )
            )
        rows.append((self.t("tax_inclusive"), self.money(totals.tax_inclusive_amount), True))
        if totals.paid_amount:
            rows.append((self.t("paid"), f"−{self.money(totals.paid_amount)}", False))
        if totals.rounding_amount:
            rows.append((self.t("rounding"), self.money(totals.rounding_amount), False))
        return rows

    def _payment_cell(self, width: float) -> Cell:
        cell = Cell()
        instructions = self.invoice.payment_instructions
        if instructions is None:
            return cell
        cell.add(self.t("payment").upper(), width, LABEL)

        def pair(key: str, value: str | None) -> None:
            if value:
                cell.add(f"{self.t(key)}{self.colon}{value}", width, BODY)

        means = labels.means(instructions.means_code, self.lang)
        text = instructions.means_text
        pair("means", _join([means, _paren(text) if text and text.casefold() != means.casefold() else None]))
        for transfer in instructions.credit_transfers:
            account = transfer.account_identifier
            is_iban = account[:2].isalpha() and account.replace(" ", "").isalnum()
            if is_iban:
                cell.add(f"{self.t('iban')}{self.colon}{numbers.grouped(account)}", width, BODY_BOLD)
            else:
                pair("account", account)
            pair("bic", transfer.service_provider_identifier)
            pair("account_name", transfer.account_name)
        card = instructions.payment_card
        if card is not None:
            pair("card", f"•••• {card.primary_account_number}")
            pair("card_holder", card.holder_name)
        debit = instructions.direct_debit
        if debit is not None:
            pair("mandate", debit.mandate_reference)
            pair("creditor_id", debit.creditor_identifier)
            if debit.debited_account_identifier:
                pair("debited_account", numbers.grouped(debit.debited_account_identifier))
        if instructions.remittance_information:
            cell.add(
                f"{self.t('remittance')}{self.colon}{instructions.remittance_information}", width, BODY_BOLD
            )
        return cell

    def _totals_and_payment(self, layout: Layout) -> None:
        invoice = self.invoice
        gap = 24.0
        right_width = 230.0
        left_width = CONTENT_WIDTH - right_width - gap
        payment = self._payment_cell(left_width)
        rows = self._totals_cell(right_width)
        due_style = Style(10.5, True, ACCENT)
        totals_height = len(rows) * BODY.leading + 8 + due_style.leading + 6
        payment_height = sum(style.leading for _, style in payment.lines)
        layout.need(max(totals_height, payment_height))
        top = layout.y
        x_right = MARGIN_X + CONTENT_WIDTH - right_width
        y = top
        for label_text, value, bold in rows:
            style = BODY_BOLD if bold else BODY
            layout.ops.append(Text(x_right, y - style.size, fonts().clean(label_text), bold, style.size))
            layout.ops.append(
                Text(
                    MARGIN_X + CONTENT_WIDTH, y - style.size, fonts().clean(value), bold, style.size, "right"
                )
            )
            y -= style.leading
        y -= 3
        layout.ops.append(Rule(x_right, y, MARGIN_X + CONTENT_WIDTH, y, 1.0, ACCENT))
        y -= 5
        due_label = self.t("credit_due" if invoice.is_credit_note else "due")
        layout.ops.append(
            Text(x_right, y - due_style.size, fonts().clean(due_label), True, due_style.size, "left", ACCENT)
        )
        layout.ops.append(
            Text(
                MARGIN_X + CONTENT_WIDTH,
                y - due_style.size,
                fonts().clean(self.money(invoice.totals.amount_due)),
                True,
                due_style.size,
                "right",
                ACCENT,
            )
        )
        y -= due_style.leading + 6
        py = top
        for line, style in payment.lines:
            layout.ops.append(
                Text(MARGIN_X, py - style.size, line, style.bold, style.size, "left", style.colour)
            )
            py -= style.leading
        layout.y = min(y, py)
        layout.gap(8)
        if invoice.payment_terms:
            layout.need(LABEL.leading + BODY.leading * 2)
            layout.text(MARGIN_X, self.t("payment_terms").upper(), LABEL)
            layout.gap(LABEL.leading)
            layout.paragraph(invoice.payment_terms, BODY)
            layout.gap(6)
        if self.payment_link:
            self._link(layout, self.payment_link)

    def _link(self, layout: Layout, url: str) -> None:
        label_text = f"{self.t('pay_online')}{self.colon}"
        label_width = string_width(fonts().clean(label_text), True, BODY.size)
        lines = wrap(fonts().clean(url), CONTENT_WIDTH - label_width, BODY)
        layout.need(len(lines) * BODY.leading)
        layout.text(MARGIN_X, label_text, BODY_BOLD)
        link_style = Style(BODY.size, False, ACCENT)
        for line in lines:
            y = layout.y - BODY.size
            x = MARGIN_X + label_width
            layout.ops.append(Text(x, y, line, False, BODY.size, "left", link_style.colour))
            width = string_width(line, False, BODY.size)
            layout.ops.append(Rule(x, y - 1.2, x + width, y - 1.2, 0.4, ACCENT))
            layout.ops.append(Link((x, y - 2, x + width, y + BODY.size), url))
            layout.gap(BODY.leading)
        layout.gap(6)

    def _notes(self, layout: Layout) -> None:
        invoice = self.invoice
        if invoice.notes:
            layout.heading(self.t("notes"), follow=BODY.leading * 2)
            for note in invoice.notes:
                layout.paragraph(note.text, BODY)
                layout.gap(3)
            layout.gap(6)
        documents = invoice.supporting_documents
        if documents:
            layout.heading(self.t("supporting_documents"), follow=BODY.leading * 2)
            for document in documents:
                text = _join(
                    [
                        document.reference,
                        document.description and f"– {document.description}",
                        f"({document.attachment.filename})" if document.attachment else None,
                        document.external_location,
                    ]
                )
                layout.paragraph(text, BODY)


def _paren(text: str | None) -> str | None:
    return f"({text})" if text else None


__all__ = ["BLACK", "render_pdf"]
