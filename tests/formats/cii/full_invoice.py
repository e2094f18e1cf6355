"""An invoice with every business term of the canonical model filled in, for the CII profile tests.

Its business content is not meant to pass the EN 16931 rules (a payee, a tax representative,
card and direct debit at once); it exercises every element the writer can produce.
"""

from __future__ import annotations

from typing import Any


def _address(prefix: str, country: str) -> dict[str, str]:
    return {
        "line1": f"{prefix} street 1",
        "line2": f"{prefix} building B",
        "line3": f"{prefix} floor 3",
        "city": f"{prefix} city",
        "post_code": "10115",
        "country_subdivision": f"{prefix} region",
        "country_code": country,
    }


FULL: dict[str, Any] = {
    "number": "FULL-1",
    "issue_date": "2026-05-04",
    "type_code": "380",
    "currency_code": "EUR",
    "tax_currency_code": "SEK",
    "tax_point_date": "2026-05-01",
    "due_date": "2026-06-03",
    "buyer_reference": "LEITWEG-1",
    "project_reference": "PRJ-1",
    "contract_reference": "CON-1",
    "purchase_order_reference": "PO-1",
    "sales_order_reference": "SO-1",
    "receiving_advice_reference": "REC-1",
    "despatch_advice_reference": "DES-1",
    "tender_or_lot_reference": "LOT-1",
    "invoiced_object_identifier": {"value": "OBJ-1", "scheme": "AAG"},
    "buyer_accounting_reference": "ACC-1",
    "payment_terms": "30 days net",
    "notes": [{"subject_code": "AAI", "text": "General note"}, {"text": "Second note"}],
    "process_control": {"business_process": "urn:example:process"},
    "preceding_invoices": [{"reference": "PREV-1", "issue_date": "2026-01-02"}],
    "seller": {
        "name": "Seller GmbH",
        "trading_name": "Seller Trading",
        "identifiers": [{"value": "SELLER-ID"}, {"value": "4000001123452", "scheme": "0088"}],
        "legal_registration": {"value": "HRB 1", "scheme": "0002"},
        "vat_identifier": "DE123456789",
        "tax_registration_identifier": "201/113/40209",
        "additional_legal_information": "Share capital 25 000 EUR",
        "electronic_address": {"value": "seller@example.com", "scheme": "EM"},
        "address": _address("Seller", "DE"),
        "contact": {"name": "Anna", "telephone": "+49 30 1", "email": "anna@example.com"},
    },
    "buyer": {
        "name": "Buyer AG",
        "trading_name": "Buyer Trading",
        "identifier": {"value": "4000001987658", "scheme": "0088"},
        "legal_registration": {"value": "HRB 2", "scheme": "0002"},
        "vat_identifier": "DE987654321",
        "electronic_address": {"value": "buyer@example.com", "scheme": "EM"},
        "address": _address("Buyer", "DE"),
        "contact": {"name": "Bert", "telephone": "+49 30 2", "email": "bert@example.com"},
    },
    "payee": {
        "name": "Payee KG",
        "identifier": {"value": "PAYEE-ID"},
        "legal_registration": {"value": "HRB 3", "scheme": "0002"},
    },
    "tax_representative": {
        "name": "Representative Ltd",
        "vat_identifier": "DE111111125",
        "address": _address("Representative", "DE"),
    },
    "delivery": {
        "party_name": "Warehouse",
        "location_identifier": {"value": "4000001000005", "scheme": "0088"},
        "actual_delivery_date": "2026-04-30",
        "address": _address("Delivery", "DE"),
    },
    "invoicing_period": {"start_date": "2026-04-01", "end_date": "2026-04-30"},
    "payment_instructions": {
        "means_code": "58",
        "means_text": "SEPA credit transfer",
        "remittance_information": "FULL-1",
        "credit_transfers": [
            {
                "account_identifier": "DE02120300000000202051",
                "account_name": "Seller",
                "service_provider_identifier": "BYLADEM1001",
            },
            {"account_identifier": "ACCOUNT-7", "account_name": "Other"},
        ],
        "payment_card": {"primary_account_number": "1234", "holder_name": "Card Holder"},
        "direct_debit": {
            "mandate_reference": "MANDATE-1",
            "creditor_identifier": "DE98ZZZ09999999999",
            "debited_account_identifier": "DE75512108001245126199",
        },
    },
    "allowances": [
        {
            "base_amount": "100.00",
            "percentage": "10",
            "reason": "Discount",
            "reason_code": "95",
            "vat_category_code": "S",
            "vat_rate": "19",
        }
    ],
    "charges": [
        {
            "amount": "5.00",
            "reason": "Freight",
            "reason_code": "FC",
            "vat_category_code": "S",
            "vat_rate": "19",
        }
    ],
    "totals": {"paid_amount": "10.00", "rounding_amount": "0.01", "vat_total_in_tax_currency": "250.00"},
    "vat_breakdown": [
        {
            "category_code": "S",
            "rate": "19",
            "exemption_reason": "none",
            "exemption_reason_code": "VATEX-EU-79-C",
        }
    ],
    "supporting_documents": [
        {
            "reference": "DOC-1",
            "description": "Timesheet",
            "external_location": "https://example.com/doc-1",
            "attachment": {
                "content": "JVBERi0xLjQK",
                "mime_code": "application/pdf",
                "filename": "doc-1.pdf",
            },
        }
    ],
    "lines": [
        {
            "id": "1",
            "note": "Line note",
            "object_identifier": {"value": "LINE-OBJ", "scheme": "AAG"},
            "quantity": "2",
            "unit_code": "C62",
            "order_line_reference": "10",
            "buyer_accounting_reference": "LINE-ACC",
            "period": {"start_date": "2026-04-01", "end_date": "2026-04-15"},
            "allowances": [
                {"base_amount": "200.00", "percentage": "5", "reason": "Volume", "reason_code": "95"}
            ],
            "charges": [
                {
                    "amount": "2.00",
                    "base_amount": "200.00",
                    "percentage": "1",
                    "reason": "Packing",
                    "reason_code": "ABL",
                }
            ],
            "price": {
                "gross_amount": "110.00",
                "discount": "10.00",
                "base_quantity": "1",
                "base_quantity_unit_code": "C62",
            },
            "vat": {"category_code": "S", "rate": "19"},
            "item": {
                "name": "Widget",
                "description": "A widget",
                "sellers_identifier": "W-1",
                "buyers_identifier": "B-W-1",
                "standard_identifier": {"value": "4000001000012", "scheme": "0160"},
                "classifications": [{"value": "12345678", "scheme": "STI", "scheme_version": "2008"}],
                "origin_country": "FR",
                "attributes": [{"name": "Colour", "value": "Red"}],
            },
        }
    ],
}
