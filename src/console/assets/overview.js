// Follows the queue on the Overview page: each `overview` event of /api/events rewrites the
// state cards and the channel table, so the page never needs a reload.
(function () {
  "use strict";
  var source = new EventSource("/api/events");
  function cell(text) {
    var td = document.createElement("td");
    td.textContent = text;
    return td;
  }
  source.addEventListener("overview", function (message) {
    var data = JSON.parse(message.data);
    var states = document.getElementById("states");
    if (states) {
      states.replaceChildren.apply(states, data.states.map(function (s) {
        var a = document.createElement("a");
        a.className = "card";
        a.href = "/jobs?state=" + encodeURIComponent(s.state);
        var b = document.createElement("b");
        b.textContent = s.jobs;
        a.appendChild(b);
        a.appendChild(document.createTextNode(s.state));
        return a;
      }));
    }
    var channels = document.getElementById("channels");
    if (channels) {
      var header = channels.rows[0];
      var rows = data.channels.map(function (c) {
        var tr = document.createElement("tr");
        tr.appendChild(cell(c.channel));
        tr.appendChild(cell(c.state));
        tr.appendChild(cell(String(c.jobs)));
        return tr;
      });
      channels.replaceChildren.apply(channels, [header].concat(rows));
    }
    var live = document.getElementById("live");
    if (live) {
      live.textContent = "live, updated " + new Date().toLocaleTimeString();
    }
  });
  source.addEventListener("error", function () {
    var live = document.getElementById("live");
    if (live) {
      live.textContent = "reconnecting…";
    }
  });
})();
