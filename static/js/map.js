// The EOC dashboard's map of incidents (Leaflet, served by the app).
//
// Markers come from the JSON element #incident-map-data; the tile server from the map's
// data-tile-url (the MAP_TILE_URL setting). Without one, or when it cannot be reached, the map
// still shows every marker, labelled with its incident and the jurisdictions it affects.
(function () {
  "use strict";

  var element = document.getElementById("incident-map");
  var data = document.getElementById("incident-map-data");
  if (!element || !data || typeof window.L === "undefined") {
    return;
  }
  var L = window.L;
  var markers = JSON.parse(data.textContent);
  var tileUrl = element.getAttribute("data-tile-url") || "";

  var map = L.map(element, { scrollWheelZoom: false, attributionControl: Boolean(tileUrl) });
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: element.getAttribute("data-tile-attribution") || "", maxZoom: 18 }).addTo(map);
  } else {
    element.classList.add("fh-map--no-tiles");
  }

  function popup(marker) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    link.href = marker.url;
    link.textContent = marker.label;
    box.appendChild(link);
    var facts = document.createElement("p");
    facts.textContent = marker.status + (marker.jurisdictions ? " · " + marker.jurisdictions : "");
    box.appendChild(facts);
    return box;
  }

  // Leaflet puts a string given to a tooltip or a popup in as HTML: incident names are people's
  // text, so both get elements whose text is set, never markup.
  function tooltip(label) {
    var text = document.createElement("span");
    text.textContent = label;
    return text;
  }

  var points = [];
  markers.forEach(function (marker) {
    var point = [marker.lat, marker.lng];
    points.push(point);
    var label = marker.label + (marker.jurisdictions ? " — " + marker.jurisdictions : "");
    L.marker(point, { title: label, alt: label, keyboard: true })
      .bindTooltip(tooltip(label), { permanent: true, direction: "top", offset: [0, -38], className: "fh-map__label" })
      .bindPopup(popup(marker))
      .addTo(map);
  });
  map.fitBounds(points, { padding: [60, 60], maxZoom: 11 });
})();
