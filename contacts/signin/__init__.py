"""Staff sign-in with WeCom (企业微信登录): the state guarding each sign-in, the account of the
member a code belongs to, and the two views a browser passes through."""
