"""What makes a ReportLab canvas a PDF/A-3b file, written by ReportLab itself.

Adding the OutputIntent and XMP afterwards with pikepdf costs about 2 ms more per invoice
(docs measured in ``shared/docs/pdfa.md``), so the canvas gets them before it is saved:

* an sRGB OutputIntent whose ``/DestOutputProfile`` is littleCMS's sRGB profile (built by
  Pillow once per process; no ICC file is shipped or read from the system);
* an XMP packet with ``pdfaid:part`` 3 / ``pdfaid:conformance`` B whose title, author,
  subject, producer, creator tool and dates equal the Info dictionary's (ISO 19005-3
  6.6.3 wants them to agree), and an Info dictionary with only those keys;
* no ``/Trans`` (ReportLab writes an empty one on every page) and the dates taken from the
  invoice, so the same invoice always gives the same bytes.

factur-x later replaces this XMP with its own (see the pitfalls in ``pdfa.md``), keeping
the OutputIntent and fonts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfdoc  # type: ignore[import-untyped]

_ICC_LOCK = threading.Lock()
_icc: bytes | None = None


def srgb_profile() -> bytes:
    """The sRGB ICC profile bytes, generated once per process."""
    global _icc
    if _icc is None:
        with _ICC_LOCK:
            if _icc is None:
                from PIL import ImageCms

                _icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _icc


@dataclass(frozen=True)
class DocumentInfo:
    """The document metadata, given once and written to both Info and XMP."""

    title: str
    author: str
    subject: str
    language: str
    day: date
    creator: str = "einvoice-gateway"
    producer: str = "einvoice-gateway (ReportLab)"

    @property
    def pdf_date(self) -> str:
        return f"D:{self.day:%Y%m%d}000000+00'00'"

    @property
    def xmp_date(self) -> str:
        return f"{self.day:%Y-%m-%d}T00:00:00+00:00"


class _Info(pdfdoc.PDFInfo):  # type: ignore[misc]
    """An Info dictionary without the keys ReportLab always adds (Keywords, Trapped)."""

    def __init__(self, meta: DocumentInfo) -> None:
        super().__init__()
        self.meta = meta

    def digest(self, md5object: Any) -> None:
        md5object.update(self.meta.title.encode("utf-8"))

    def format(self, document: Any) -> bytes:
        meta = self.meta
        entries = {
            "Title": pdfdoc.PDFString(meta.title),
            "Author": pdfdoc.PDFString(meta.author),
            "Subject": pdfdoc.PDFString(meta.subject),
            "Creator": pdfdoc.PDFString(meta.creator),
            "Producer": pdfdoc.PDFString(meta.producer),
            "CreationDate": pdfdoc.PDFString(meta.pdf_date),
            "ModDate": pdfdoc.PDFString(meta.pdf_date),
        }
        return bytes(pdfdoc.PDFDictionary(entries).format(document))


def _xmp(meta: DocumentInfo) -> str:
    def alt(value: str) -> str:
        return f'<rdf:Alt><rdf:li xml:lang="x-default">{escape(value)}</rdf:li></rdf:Alt>'

    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '<rdf:Description rdf:about=""\n'
        ' xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"\n'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        ' xmlns:pdf="http://ns.adobe.com/pdf/1.3/">\n'
        "<pdfaid:part>3</pdfaid:part>\n"
        "<pdfaid:conformance>B</pdfaid:conformance>\n"
        f"<dc:title>{alt(meta.title)}</dc:title>\n"
        f"<dc:creator><rdf:Seq><rdf:li>{escape(meta.author)}</rdf:li></rdf:Seq></dc:creator>\n"
        f"<dc:description>{alt(meta.subject)}</dc:description>\n"
        f"<dc:language><rdf:Bag><rdf:li>{escape(meta.language)}</rdf:li></rdf:Bag></dc:language>\n"
        "<dc:format>application/pdf</dc:format>\n"
        f"<xmp:CreatorTool>{escape(meta.creator)}</xmp:CreatorTool>\n"
        f"<xmp:CreateDate>{meta.xmp_date}</xmp:CreateDate>\n"
        f"<xmp:ModifyDate>{meta.xmp_date}</xmp:ModifyDate>\n"
        f"<xmp:MetadataDate>{meta.xmp_date}</xmp:MetadataDate>\n"
        f"<pdf:Producer>{escape(meta.producer)}</pdf:Producer>\n"
        "</rdf:Description>\n"
        "</rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )


class _Catalog(pdfdoc.PDFCatalog):  # type: ignore[misc]
    """ReportLab's catalog writes only the keys it knows; PDF/A needs ``/OutputIntents`` too."""

    __NoDefault__: ClassVar[list[str]] = [*pdfdoc.PDFCatalog.__NoDefault__, "OutputIntents"]
    __Refs__ = pdfdoc.PDFCatalog.__Refs__


class _Metadata(pdfdoc.PDFStream):  # type: ignore[misc]
    """The XMP stream, left unfiltered so that any tool can read it (PDF/A recommends it)."""

    def __init__(self, packet: str) -> None:
        dictionary = pdfdoc.PDFDictionary(
            {"Type": pdfdoc.PDFName("Metadata"), "Subtype": pdfdoc.PDFName("XML")}
        )
        super().__init__(dictionary, packet.encode("utf-8"), filters=[])


def make_pdfa(canvas: Any, meta: DocumentInfo) -> None:
    """Give ``canvas`` (not yet saved) the OutputIntent, XMP, Info and page fixes of PDF/A-3b."""
    doc = canvas._doc
    doc.info = _Info(meta)
    profile = pdfdoc.PDFStream(pdfdoc.PDFDictionary({"N": 3}), srgb_profile(), filters=[pdfdoc.PDFZCompress])
    intent = pdfdoc.PDFDictionary(
        {
            "Type": pdfdoc.PDFName("OutputIntent"),
            "S": pdfdoc.PDFName("GTS_PDFA1"),
            "OutputConditionIdentifier": pdfdoc.PDFString("sRGB IEC61966-2.1"),
            "Info": pdfdoc.PDFString("sRGB IEC61966-2.1"),
            "DestOutputProfile": doc.Reference(profile),
        }
    )
    catalog = _Catalog()
    catalog.__dict__.update(doc.Catalog.__dict__)
    doc.Catalog = doc._catalog = catalog
    catalog.OutputIntents = pdfdoc.PDFArray([intent])
    catalog.Metadata = _Metadata(_xmp(meta))
    catalog.Lang = pdfdoc.PDFString(meta.language)

    def drop_transition(_page_number: int) -> None:
        doc.Pages.pages[-1].Trans = None

    canvas.setPageCallBack(drop_transition)
