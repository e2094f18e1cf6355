"""Inputs made in the tests: a small PDF/A-3b (ReportLab + pikepdf) and a CII invoice per level."""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

import pikepdf
import reportlab  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont  # type: ignore[import-untyped]
from reportlab.pdfgen import canvas  # type: ignore[import-untyped]

GUIDELINES = {
    "MINIMUM": "urn:factur-x.eu:1p0:minimum",
    "BASIC WL": "urn:factur-x.eu:1p0:basicwl",
    "BASIC": "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic",
    "EN 16931": "urn:cen.eu:en16931:2017",
    "EXTENDED": "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
    "XRECHNUNG": "urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_3.0",
}


def cii(guideline: str = GUIDELINES["EN 16931"], body: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" '
        'xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">'
        "<rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>"
        f"<ram:ID>{guideline}</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>"
        f"</rsm:ExchangedDocumentContext>{body}</rsm:CrossIndustryInvoice>\n"
    ).encode()


XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
<pdfaid:part>{part}</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">Test invoice</rdf:li></rdf:Alt></dc:title></rdf:Description>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


@cache
def pdfa(part: str = "3") -> bytes:
    """A one-page PDF/A-3b (embedded TrueType font, sRGB output intent, XMP pdfaid 3/B)."""
    font = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", str(font)))
    out = BytesIO()
    page = canvas.Canvas(out, pagesize=A4, initialFontName="Vera", invariant=1)
    page.setFont("Vera", 12)
    page.drawString(72, 770, "Invoice 42")
    page.save()
    pdf = pikepdf.open(BytesIO(out.getvalue()))
    icc_path = Path(pikepdf.__file__).parent / "pdfa" / "data" / "sRGB.icc"
    icc = pdf.make_stream(icc_path.read_bytes(), N=3)
    pdf.Root.OutputIntents = pikepdf.Array(
        [
            pikepdf.Dictionary(
                Type=pikepdf.Name.OutputIntent,
                S=pikepdf.Name.GTS_PDFA1,
                OutputConditionIdentifier="sRGB",
                DestOutputProfile=icc,
            )
        ]
    )
    pdf.Root.Metadata = pdf.make_stream(
        XMP.format(part=part).encode(), Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML
    )
    saved = BytesIO()
    pdf.save(saved, deterministic_id=True)
    return saved.getvalue()
