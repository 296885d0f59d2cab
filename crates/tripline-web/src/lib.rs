//! tripline's report site (`tripline report --out DIR`) and live web UI
//! (`tripline serve`), rendered from the store by one set of templates.
