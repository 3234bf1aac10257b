"""Front-end packages installed from npm at set-up (`npm ci`), served from `node_modules`.

Only the files listed here are reachable; nothing comes from a CDN at run time.
"""
from __future__ import annotations


from flask import abort, send_from_directory

from engine.config import PROJECT_ROOT

NODE_MODULES = PROJECT_ROOT / "node_modules"
FILES = {
    "bpmn-viewer.js": "bpmn-js/dist/bpmn-navigated-viewer.production.min.js",
    "bpmn-modeler.js": "bpmn-js/dist/bpmn-modeler.production.min.js",
    "bpmn-js.css": "bpmn-js/dist/assets/bpmn-js.css",
    "diagram-js.css": "bpmn-js/dist/assets/diagram-js.css",
    "bpmn-font.css": "bpmn-js/dist/assets/bpmn-font/css/bpmn.css",
    "echarts.js": "echarts/dist/echarts.common.min.js",
    "diagram-js-minimap.css": "diagram-js-minimap/assets/diagram-js-minimap.css",
    # The decision table editor (dmn-js) and its stylesheets; its icon font at ../font/ beside dmn.css.
    "dmn-modeler.js": "dmn-js/dist/dmn-modeler.production.min.js",
    **{f"dmn/{name}": f"dmn-js/dist/assets/{name}" for name in (
        "diagram-js.css", "dmn-js-shared.css", "dmn-js-decision-table.css", "dmn-js-decision-table-controls.css",
        "dmn-js-drd.css", "dmn-js-literal-expression.css", "dmn-font/css/dmn.css")},
    **{f"dmn/dmn-font/font/dmn.{ext}": f"dmn-js/dist/assets/dmn-font/font/dmn.{ext}"
       for ext in ("woff2", "woff", "ttf", "eot", "svg")},
    # The modeler's palette icons: the stylesheet finds its fonts at ../font/ beside it.
    "bpmn-font/css/bpmn.css": "bpmn-js/dist/assets/bpmn-font/css/bpmn.css",
    **{f"bpmn-font/font/bpmn.{ext}": f"bpmn-js/dist/assets/bpmn-font/font/bpmn.{ext}"
       for ext in ("woff2", "woff", "ttf", "eot", "svg")},
}


def init_app(app) -> None:
    @app.get("/vendor/<path:name>")
    def vendor(name: str):
        relative = FILES.get(name)
        if relative is None:
            abort(404)
        path = NODE_MODULES / relative
        if not path.is_file():
            abort(404)
        return send_from_directory(path.parent, path.name, max_age=3600)
