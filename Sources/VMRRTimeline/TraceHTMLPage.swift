/// The HTML view's page: markup and styles (`head`) and the script
/// (`script`, in TraceHTMLScript.swift). Everything is inline; the page
/// loads nothing.
enum TraceHTMLPage {
    static func head(title: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(escape(title))</title>
        <link rel="icon" href="data:,">
        <style>
        body { font: 13px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
        header { padding: 10px 16px 6px; background: #fff; border-bottom: 1px solid #dde1e8; }
        h1 { font-size: 17px; margin: 0 0 4px; }
        h2 { font-size: 14px; margin: 14px 0 6px; }
        #meta { color: #555; }
        .banner { margin: 6px 0 0; padding: 6px 10px; border-radius: 4px; }
        #truncated { background: #fff4d6; border: 1px solid #e6c36a; }
        #divergence { background: #fde8e8; border: 1px solid #d9534f; }
        #divergence pre { margin: 4px 0 0; font: 12px ui-monospace, monospace; white-space: pre-wrap; }
        #controls { padding: 6px 16px; display: flex; gap: 6px; align-items: center; }
        #controls button { font: inherit; padding: 2px 10px; }
        #status { color: #555; margin-left: 8px; }
        #view { position: relative; margin: 0 16px; background: #fff; border: 1px solid #dde1e8; }
        #canvas { display: block; width: 100%; cursor: crosshair; }
        #card { position: absolute; pointer-events: none; background: #1d2330; color: #fff; padding: 6px 9px;
                border-radius: 4px; font: 12px ui-monospace, monospace; white-space: pre; z-index: 2; }
        #summary { margin: 0 16px 24px; display: flex; gap: 40px; flex-wrap: wrap; }
        table { border-collapse: collapse; background: #fff; }
        td, th { border: 1px solid #dde1e8; padding: 2px 8px; text-align: left; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; }
        </style>
        </head>
        <body>
        <header>
        <h1>vmrr timeline</h1>
        <div id="meta"></div>
        <div id="truncated" class="banner" hidden></div>
        <div id="divergence" class="banner" hidden></div>
        </header>
        <div id="controls">
        <button id="zoom-in" title="zoom in (+, or the mouse wheel)">+</button>
        <button id="zoom-out" title="zoom out (-)">&minus;</button>
        <button id="zoom-reset" title="the whole recording (0)">whole recording</button>
        <button id="zoom-divergence" hidden>go to the divergence</button>
        <span id="status"></span>
        </div>
        <div id="view"><canvas id="canvas"></canvas><div id="card" hidden></div></div>
        <section id="summary">
        <div><h2>Events per kind</h2><table id="counts"><thead><tr><th>kind</th><th>events</th></tr></thead><tbody></tbody></table>
        <p id="rate"></p></div>
        <div><h2>Hottest RIPs (by exits)</h2><table id="hottest"><thead><tr><th>rip</th><th>symbol</th><th>exits</th></tr></thead><tbody></tbody></table></div>
        </section>

        """
    }

    /// Text for HTML element content.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
