"use strict";
/**
 * The JSON shapes of requests and replies. Each endpoint takes and returns
 * exactly the JSON of its HTTP counterpart; these types name the fields most
 * programs use and let the rest through.
 */
Object.defineProperty(exports, "__esModule", { value: true });
