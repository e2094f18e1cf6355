"""Every word the readable invoice prints, in English, French, German, Italian, Spanish, Dutch.

Kept as data, one row per label with a column per language (the order of ``LANGUAGES``),
so a missing translation is a test failure rather than a blank on the page. Code names
(document types, payment means, VAT categories, units) cover the codes invoices really
carry; any other code is printed as the code itself.
"""

from __future__ import annotations

from formats.invoice.codes import CREDIT_NOTE_TYPE_CODES

LANGUAGES = ("en", "fr", "de", "it", "es", "nl")

_L = tuple[str, str, str, str, str, str]

LABELS: dict[str, _L] = {
    # parties
    "seller": ("Seller", "Vendeur", "Verkäufer", "Venditore", "Vendedor", "Verkoper"),
    "buyer": ("Buyer", "Acheteur", "Käufer", "Acquirente", "Comprador", "Koper"),
    "payee": ("Payee", "Bénéficiaire", "Zahlungsempfänger", "Beneficiario", "Beneficiario", "Begunstigde"),
    "tax_representative": (
        "Tax representative",
        "Représentant fiscal",
        "Steuervertreter",
        "Rappresentante fiscale",
        "Representante fiscal",
        "Fiscaal vertegenwoordiger",
    ),
    "vat_id": ("VAT ID", "N° TVA", "USt-IdNr.", "Partita IVA", "NIF-IVA", "Btw-nr."),
    "tax_id": ("Tax number", "N° fiscal", "Steuernummer", "Codice fiscale", "NIF", "Fiscaal nr."),
    "registration": (
        "Registration",
        "Immatriculation",
        "Registernummer",
        "Registro imprese",
        "Registro mercantil",
        "Inschrijving",
    ),
    "contact": ("Contact", "Contact", "Kontakt", "Contatto", "Contacto", "Contact"),
    "phone": ("Tel.", "Tél.", "Tel.", "Tel.", "Tel.", "Tel."),
    "email": ("Email", "E-mail", "E-Mail", "E-mail", "Correo", "E-mail"),
    # references
    "number": ("Number", "Numéro", "Nummer", "Numero", "Número", "Nummer"),
    "issue_date": (
        "Issue date",
        "Date d'émission",
        "Rechnungsdatum",
        "Data",
        "Fecha de emisión",
        "Factuurdatum",
    ),
    "due_date": ("Due date", "Échéance", "Fällig am", "Scadenza", "Vencimiento", "Vervaldatum"),
    "tax_point_date": (
        "Tax point date",
        "Date d'exigibilité TVA",
        "Steuerdatum",
        "Data esigibilità IVA",
        "Fecha de devengo",
        "Belastingdatum",
    ),
    "buyer_reference": (
        "Buyer reference",
        "Référence acheteur",
        "Käuferreferenz",
        "Riferimento acquirente",
        "Referencia del comprador",
        "Referentie koper",
    ),
    "order": ("Purchase order", "Bon de commande", "Bestellung", "Ordine d'acquisto", "Pedido", "Bestelling"),
    "sales_order": (
        "Sales order",
        "Commande client",
        "Auftrag",
        "Ordine di vendita",
        "Pedido de venta",
        "Verkooporder",
    ),
    "contract": ("Contract", "Contrat", "Vertrag", "Contratto", "Contrato", "Contract"),
    "project": ("Project", "Projet", "Projekt", "Progetto", "Proyecto", "Project"),
    "tender": (
        "Tender or lot",
        "Appel d'offres / lot",
        "Vergabe / Los",
        "Gara / lotto",
        "Licitación / lote",
        "Aanbesteding / perceel",
    ),
    "receiving_advice": (
        "Receiving advice",
        "Avis de réception",
        "Wareneingang",
        "Avviso di ricevimento",
        "Aviso de recepción",
        "Ontvangstbericht",
    ),
    "despatch_advice": (
        "Despatch advice",
        "Bon de livraison",
        "Lieferschein",
        "Documento di trasporto",
        "Albarán",
        "Pakbon",
    ),
    "invoiced_object": (
        "Invoiced object",
        "Objet facturé",
        "Abrechnungsobjekt",
        "Oggetto fatturato",
        "Objeto facturado",
        "Gefactureerd object",
    ),
    "accounting_reference": (
        "Buyer accounting ref.",
        "Imputation comptable",
        "Kontierung",
        "Riferimento contabile",
        "Referencia contable",
        "Boekhoudreferentie",
    ),
    "period": (
        "Invoicing period",
        "Période de facturation",
        "Leistungszeitraum",
        "Periodo di fatturazione",
        "Periodo de facturación",
        "Factuurperiode",
    ),
    "delivery_date": (
        "Delivery date",
        "Date de livraison",
        "Lieferdatum",
        "Data di consegna",
        "Fecha de entrega",
        "Leverdatum",
    ),
    "deliver_to": ("Deliver to", "Livré à", "Lieferanschrift", "Consegna a", "Entregar a", "Afleveradres"),
    "preceding_invoice": (
        "Preceding invoice",
        "Facture d'origine",
        "Ursprungsrechnung",
        "Fattura di riferimento",
        "Factura rectificada",
        "Oorspronkelijke factuur",
    ),
    "supporting_documents": (
        "Supporting documents",
        "Pièces jointes",
        "Anlagen",
        "Allegati",
        "Documentos adjuntos",
        "Bijlagen",
    ),
    # lines
    "col_no": ("#", "N°", "Pos.", "N.", "N.º", "Nr."),
    "col_description": (
        "Description",
        "Désignation",
        "Bezeichnung",
        "Descrizione",
        "Descripción",
        "Omschrijving",
    ),
    "col_quantity": ("Qty", "Qté", "Menge", "Q.tà", "Cant.", "Aantal"),
    "col_unit": ("Unit", "Unité", "Einheit", "U.M.", "Unidad", "Eenheid"),
    "col_price": (
        "Unit price",
        "Prix unitaire",
        "Einzelpreis",
        "Prezzo unit.",
        "Precio unit.",
        "Prijs per eenheid",
    ),
    "col_vat": ("VAT", "TVA", "USt.", "IVA", "IVA", "Btw"),
    "col_amount": (
        "Net amount",
        "Montant HT",
        "Betrag netto",
        "Importo netto",
        "Importe neto",
        "Bedrag excl. btw",
    ),
    "item_id": ("Item no.", "Réf.", "Art.-Nr.", "Cod.", "Ref.", "Art.nr."),
    "buyer_item_id": ("Your item no.", "Votre réf.", "Ihre Art.-Nr.", "Vostro cod.", "Su ref.", "Uw art.nr."),
    "standard_id": ("GTIN", "GTIN", "GTIN", "GTIN", "GTIN", "GTIN"),
    "origin": ("Origin", "Origine", "Ursprung", "Origine", "Origen", "Oorsprong"),
    "line_period": ("Period", "Période", "Zeitraum", "Periodo", "Periodo", "Periode"),
    "order_line": (
        "Order line",
        "Ligne de commande",
        "Bestellposition",
        "Riga ordine",
        "Línea de pedido",
        "Orderregel",
    ),
    "per": ("per", "par", "pro", "per", "por", "per"),
    "no_lines": (
        "This invoice carries no line detail; its totals are given below.",
        "Cette facture ne comporte pas de détail des lignes ; ses totaux figurent ci-dessous.",
        "Diese Rechnung enthält keine Positionen; die Summen stehen unten.",
        "Questa fattura non riporta il dettaglio delle righe; i totali sono indicati di seguito.",
        "Esta factura no incluye el detalle de las líneas; sus totales figuran a continuación.",
        "Deze factuur bevat geen factuurregels; de totalen staan hieronder.",
    ),
    # allowances, charges
    "allowance": ("Allowance", "Remise", "Nachlass", "Sconto", "Descuento", "Korting"),
    "charge": ("Charge", "Frais", "Zuschlag", "Maggiorazione", "Cargo", "Toeslag"),
    "allowances_charges": (
        "Allowances and charges",
        "Remises et frais",
        "Nachlässe und Zuschläge",
        "Sconti e maggiorazioni",
        "Descuentos y cargos",
        "Kortingen en toeslagen",
    ),
    "reason": ("Reason", "Motif", "Grund", "Motivo", "Motivo", "Reden"),
    "base": ("Base", "Base", "Basis", "Base", "Base", "Basis"),
    "rate": ("Rate", "Taux", "Satz", "Aliquota", "Tipo", "Tarief"),
    "amount": ("Amount", "Montant", "Betrag", "Importo", "Importe", "Bedrag"),
    # VAT
    "vat_breakdown": (
        "VAT breakdown",
        "Détail de la TVA",
        "Umsatzsteuer",
        "Riepilogo IVA",
        "Desglose del IVA",
        "Btw-specificatie",
    ),
    "category": ("Category", "Catégorie", "Kategorie", "Categoria", "Categoría", "Categorie"),
    "taxable": ("Taxable amount", "Base HT", "Nettobetrag", "Imponibile", "Base imponible", "Grondslag"),
    "vat_amount": ("VAT amount", "Montant TVA", "Steuerbetrag", "Imposta", "Cuota IVA", "Btw-bedrag"),
    "exemption": (
        "Exemption reason",
        "Motif d'exonération",
        "Befreiungsgrund",
        "Motivo di esenzione",
        "Motivo de exención",
        "Vrijstellingsgrond",
    ),
    # totals
    "line_total": (
        "Sum of lines",
        "Total des lignes HT",
        "Summe Positionen",
        "Totale righe",
        "Suma de líneas",
        "Som van regels",
    ),
    "allowance_total": ("Allowances", "Remises", "Nachlässe", "Sconti", "Descuentos", "Kortingen"),
    "charge_total": ("Charges", "Frais", "Zuschläge", "Maggiorazioni", "Cargos", "Toeslagen"),
    "tax_exclusive": (
        "Total without VAT",
        "Total HT",
        "Gesamt netto",
        "Totale imponibile",
        "Total sin IVA",
        "Totaal excl. btw",
    ),
    "vat_total": ("VAT", "TVA", "Umsatzsteuer", "IVA", "IVA", "Btw"),
    "vat_total_tax_currency": (
        "VAT in accounting currency",
        "TVA en devise de comptabilité",
        "USt. in Buchungswährung",
        "IVA in valuta contabile",
        "IVA en moneda contable",
        "Btw in boekhoudvaluta",
    ),
    "tax_inclusive": (
        "Total with VAT",
        "Total TTC",
        "Gesamt brutto",
        "Totale fattura",
        "Total con IVA",
        "Totaal incl. btw",
    ),
    "paid": ("Paid", "Déjà payé", "Bereits gezahlt", "Già pagato", "Pagado", "Reeds betaald"),
    "rounding": ("Rounding", "Arrondi", "Rundung", "Arrotondamento", "Redondeo", "Afronding"),
    "due": ("Amount due", "Net à payer", "Zahlbetrag", "Importo da pagare", "Importe a pagar", "Te betalen"),
    "credit_due": (
        "Amount to refund",
        "Montant à rembourser",
        "Gutschriftsbetrag",
        "Importo da rimborsare",
        "Importe a reembolsar",
        "Terug te betalen",
    ),
    # payment
    "payment": ("Payment", "Paiement", "Zahlung", "Pagamento", "Pago", "Betaling"),
    "means": (
        "Payment means",
        "Moyen de paiement",
        "Zahlungsart",
        "Modalità di pagamento",
        "Medio de pago",
        "Betaalwijze",
    ),
    "iban": ("IBAN", "IBAN", "IBAN", "IBAN", "IBAN", "IBAN"),
    "account": ("Account", "Compte", "Konto", "Conto", "Cuenta", "Rekening"),
    "bic": ("BIC", "BIC", "BIC", "BIC", "BIC", "BIC"),
    "account_name": (
        "Account name",
        "Titulaire",
        "Kontoinhaber",
        "Intestatario",
        "Titular",
        "Rekeninghouder",
    ),
    "remittance": (
        "Payment reference",
        "Référence de paiement",
        "Verwendungszweck",
        "Causale",
        "Referencia de pago",
        "Betalingskenmerk",
    ),
    "card": ("Card", "Carte", "Karte", "Carta", "Tarjeta", "Kaart"),
    "card_holder": (
        "Card holder",
        "Titulaire de la carte",
        "Karteninhaber",
        "Titolare",
        "Titular",
        "Kaarthouder",
    ),
    "mandate": (
        "Mandate reference",
        "Référence unique de mandat",
        "Mandatsreferenz",
        "Riferimento mandato",
        "Referencia de mandato",
        "Machtigingskenmerk",
    ),
    "creditor_id": ("Creditor ID", "ICS", "Gläubiger-ID", "ID creditore", "ID acreedor", "Incassant-ID"),
    "debited_account": (
        "Debited account",
        "Compte débité",
        "Belastetes Konto",
        "Conto addebitato",
        "Cuenta de cargo",
        "Te debiteren rekening",
    ),
    "payment_terms": (
        "Payment terms",
        "Conditions de paiement",
        "Zahlungsbedingungen",
        "Condizioni di pagamento",
        "Condiciones de pago",
        "Betalingsvoorwaarden",
    ),
    "pay_online": (
        "Pay online",
        "Payer en ligne",
        "Online bezahlen",
        "Paga online",
        "Pagar en línea",
        "Online betalen",
    ),
    "notes": ("Notes", "Mentions", "Hinweise", "Note", "Notas", "Opmerkingen"),
    "page": (
        "Page {page} of {pages}",
        "Page {page} sur {pages}",
        "Seite {page} von {pages}",
        "Pagina {page} di {pages}",
        "Página {page} de {pages}",
        "Pagina {page} van {pages}",
    ),
    "continued": ("continued", "suite", "Fortsetzung", "segue", "continuación", "vervolg"),
}

_TYPES: dict[str, _L] = {
    "380": ("Invoice", "Facture", "Rechnung", "Fattura", "Factura", "Factuur"),
    "381": ("Credit note", "Avoir", "Gutschrift", "Nota di credito", "Factura rectificativa", "Creditnota"),
    "383": (
        "Debit note",
        "Note de débit",
        "Belastungsanzeige",
        "Nota di debito",
        "Nota de débito",
        "Debetnota",
    ),
    "384": (
        "Corrected invoice",
        "Facture rectificative",
        "Rechnungskorrektur",
        "Fattura rettificativa",
        "Factura corregida",
        "Gecorrigeerde factuur",
    ),
    "386": (
        "Prepayment invoice",
        "Facture d'acompte",
        "Anzahlungsrechnung",
        "Fattura di acconto",
        "Factura de anticipo",
        "Voorschotfactuur",
    ),
    "389": (
        "Self-billed invoice",
        "Autofacture",
        "Gutschrift (Selbstfakturierung)",
        "Autofattura",
        "Autofactura",
        "Self-billing factuur",
    ),
    "261": (
        "Self-billed credit note",
        "Avoir autofacturé",
        "Gutschrift (Selbstfakturierung)",
        "Nota di credito autofattura",
        "Autofactura rectificativa",
        "Self-billing creditnota",
    ),
    "326": (
        "Partial invoice",
        "Facture partielle",
        "Teilrechnung",
        "Fattura parziale",
        "Factura parcial",
        "Deelfactuur",
    ),
    "751": (
        "Invoice information for accounting purposes",
        "Facture (information comptable)",
        "Rechnungsinformation für Buchungszwecke",
        "Fattura (informazioni contabili)",
        "Información de factura a efectos contables",
        "Factuurinformatie voor boekhouding",
    ),
}

_MEANS: dict[str, _L] = {
    "1": ("Not defined", "Non défini", "Nicht definiert", "Non definito", "No definido", "Niet gedefinieerd"),
    "10": ("Cash", "Espèces", "Bar", "Contanti", "Efectivo", "Contant"),
    "20": ("Cheque", "Chèque", "Scheck", "Assegno", "Cheque", "Cheque"),
    "30": ("Credit transfer", "Virement", "Überweisung", "Bonifico", "Transferencia", "Overschrijving"),
    "31": ("Debit transfer", "Virement", "Überweisung", "Bonifico", "Transferencia", "Overschrijving"),
    "42": (
        "Payment to bank account",
        "Paiement sur compte bancaire",
        "Zahlung auf Bankkonto",
        "Pagamento su conto bancario",
        "Pago en cuenta bancaria",
        "Betaling op bankrekening",
    ),
    "48": ("Bank card", "Carte bancaire", "Bankkarte", "Carta di pagamento", "Tarjeta bancaria", "Bankkaart"),
    "49": ("Direct debit", "Prélèvement", "Lastschrift", "Addebito diretto", "Domiciliación", "Incasso"),
    "54": (
        "Credit card",
        "Carte de crédit",
        "Kreditkarte",
        "Carta di credito",
        "Tarjeta de crédito",
        "Creditcard",
    ),
    "55": (
        "Debit card",
        "Carte de débit",
        "Debitkarte",
        "Carta di debito",
        "Tarjeta de débito",
        "Debetkaart",
    ),
    "57": (
        "Standing agreement",
        "Accord permanent",
        "Dauerauftrag",
        "Accordo permanente",
        "Acuerdo permanente",
        "Doorlopende opdracht",
    ),
    "58": (
        "SEPA credit transfer",
        "Virement SEPA",
        "SEPA-Überweisung",
        "Bonifico SEPA",
        "Transferencia SEPA",
        "SEPA-overschrijving",
    ),
    "59": (
        "SEPA direct debit",
        "Prélèvement SEPA",
        "SEPA-Lastschrift",
        "Addebito diretto SEPA",
        "Adeudo directo SEPA",
        "SEPA-incasso",
    ),
    "97": (
        "Clearing between partners",
        "Compensation",
        "Verrechnung",
        "Compensazione",
        "Compensación",
        "Verrekening",
    ),
    "ZZZ": (
        "Mutually defined",
        "Défini d'un commun accord",
        "Vereinbart",
        "Concordato",
        "Acordado",
        "Onderling overeengekomen",
    ),
}

_CATEGORIES: dict[str, _L] = {
    "S": (
        "Standard rate",
        "Taux normal",
        "Regelsteuersatz",
        "Aliquota ordinaria",
        "Tipo general",
        "Standaardtarief",
    ),
    "Z": ("Zero rated", "Taux zéro", "Nullsatz", "Aliquota zero", "Tipo cero", "Nultarief"),
    "E": ("Exempt", "Exonéré", "Steuerbefreit", "Esente", "Exento", "Vrijgesteld"),
    "AE": (
        "Reverse charge",
        "Autoliquidation",
        "Steuerschuldnerschaft des Leistungsempfängers",
        "Inversione contabile",
        "Inversión del sujeto pasivo",
        "Btw verlegd",
    ),
    "K": (
        "Intra-community supply",
        "Livraison intracommunautaire",
        "Innergemeinschaftliche Lieferung",
        "Cessione intracomunitaria",
        "Entrega intracomunitaria",
        "Intracommunautaire levering",
    ),
    "G": (
        "Export outside the EU",
        "Exportation hors UE",
        "Ausfuhrlieferung",
        "Esportazione extra UE",
        "Exportación fuera de la UE",
        "Uitvoer buiten de EU",
    ),
    "O": (
        "Not subject to VAT",
        "Hors champ de TVA",
        "Nicht steuerbar",
        "Fuori campo IVA",
        "No sujeto a IVA",
        "Niet onderworpen aan btw",
    ),
    "L": (
        "IGIC (Canary Islands)",
        "IGIC (Canaries)",
        "IGIC (Kanaren)",
        "IGIC (Canarie)",
        "IGIC (Canarias)",
        "IGIC (Canarische Eilanden)",
    ),
    "M": (
        "IPSI (Ceuta, Melilla)",
        "IPSI (Ceuta, Melilla)",
        "IPSI (Ceuta, Melilla)",
        "IPSI (Ceuta, Melilla)",
        "IPSI (Ceuta, Melilla)",
        "IPSI (Ceuta, Melilla)",
    ),
}

# UN/ECE Recommendation 20/21 units invoices use most; other codes are printed as is.
_UNITS: dict[str, _L] = {
    "C62": ("pc", "pce", "Stk.", "pz", "ud.", "st."),
    "H87": ("pc", "pce", "Stk.", "pz", "ud.", "st."),
    "EA": ("each", "unité", "Stk.", "pz", "ud.", "st."),
    "XPP": ("pc", "pce", "Stk.", "pz", "ud.", "st."),
    "SET": ("set", "lot", "Satz", "set", "juego", "set"),
    "PR": ("pair", "paire", "Paar", "paio", "par", "paar"),
    "HUR": ("h", "h", "Std.", "h", "h", "uur"),
    "MIN": ("min", "min", "Min.", "min", "min", "min"),
    "DAY": ("day", "jour", "Tag", "giorno", "día", "dag"),
    "WEE": ("week", "semaine", "Woche", "settimana", "semana", "week"),
    "MON": ("month", "mois", "Monat", "mese", "mes", "maand"),
    "ANN": ("year", "an", "Jahr", "anno", "año", "jaar"),
    "KGM": ("kg", "kg", "kg", "kg", "kg", "kg"),
    "GRM": ("g", "g", "g", "g", "g", "g"),
    "TNE": ("t", "t", "t", "t", "t", "t"),
    "LTR": ("l", "l", "l", "l", "l", "l"),
    "MLT": ("ml", "ml", "ml", "ml", "ml", "ml"),
    "MTR": ("m", "m", "m", "m", "m", "m"),
    "CMT": ("cm", "cm", "cm", "cm", "cm", "cm"),
    "KMT": ("km", "km", "km", "km", "km", "km"),
    "MTK": ("m²", "m²", "m²", "m²", "m²", "m²"),
    "MTQ": ("m³", "m³", "m³", "m³", "m³", "m³"),
    "KWH": ("kWh", "kWh", "kWh", "kWh", "kWh", "kWh"),
    "LS": ("lump sum", "forfait", "pauschal", "forfait", "tanto alzado", "forfait"),
    "E48": ("service", "prestation", "Leistung", "servizio", "servicio", "dienst"),
    "XBX": ("box", "boîte", "Karton", "scatola", "caja", "doos"),
    "XPK": ("pack", "paquet", "Packung", "confezione", "paquete", "pak"),
    "XCT": ("carton", "carton", "Karton", "cartone", "cartón", "karton"),
    "XBO": ("bottle", "bouteille", "Flasche", "bottiglia", "botella", "fles"),
}

# Seller countries and the language their invoices are read in; the rest read English.
_COUNTRY_LANGUAGE = {
    "FR": "fr",
    "MC": "fr",
    "LU": "fr",
    "DE": "de",
    "AT": "de",
    "LI": "de",
    "IT": "it",
    "SM": "it",
    "VA": "it",
    "ES": "es",
    "AD": "es",
    "NL": "nl",
}


def _index(language: str) -> int:
    return LANGUAGES.index(language)


def label(key: str, language: str) -> str:
    return LABELS[key][_index(language)]


def title(type_code: str, language: str) -> str:
    """The document title for a UNTDID 1001 code; other codes read as invoice or credit note."""
    row = _TYPES.get(type_code) or _TYPES["381" if type_code in CREDIT_NOTE_TYPE_CODES else "380"]
    return row[_index(language)]


def means(code: str, language: str) -> str:
    row = _MEANS.get(code)
    return row[_index(language)] if row else code


def category(code: str, language: str) -> str:
    row = _CATEGORIES.get(code)
    return row[_index(language)] if row else code


def unit(code: str, language: str) -> str:
    row = _UNITS.get(code)
    return row[_index(language)] if row else code


def default_language(country: str, post_code: str | None) -> str:
    """The language an invoice from a seller in ``country`` is read in.

    Belgium and Switzerland are split by region, which their post codes tell: in Belgium
    Flanders reads Dutch and the East Cantons German; in Switzerland Romandy reads French and
    Ticino Italian.
    """
    code = "".join(c for c in (post_code or "") if c.isdigit())
    postal = int(code[:4]) if len(code) >= 4 else None
    if country == "BE":
        if postal is None:
            return "fr"
        if 4700 <= postal <= 4799:
            return "de"
        return "nl" if 1500 <= postal <= 3999 or postal >= 8000 else "fr"
    if country == "CH":
        if postal is None:
            return "de"
        if postal < 3000:
            return "fr"
        return "it" if 6500 <= postal <= 6999 else "de"
    return _COUNTRY_LANGUAGE.get(country, "en")
